"""The red-flag report: one self-contained HTML file (inline CSS and SVG, no scripts) that opens offline."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from clearsight.engine import Backend
from clearsight.flags.base import STATUSES
from clearsight.flags.registry import indicator, indicators
from clearsight.network.export import group_detail
from clearsight.report import charts

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #666; font-size: 0.9em; }
.process { border: 1px solid #e5e5e5; border-radius: 6px; padding: 0.6em 1em; margin: 1em 0; }
.process h3 { margin: 0.2em 0; font-size: 1em; }
.flag { color: #c0392b; font-weight: 600; }
nav a { margin-right: 1em; }
"""


class ReportError(ValueError):
    """No flag run to report on."""


def _latest_run(backend: Backend, dataset: str) -> str:
    run = backend.query_value(
        "SELECT run_id FROM flag_runs WHERE dataset = ? ORDER BY started_at DESC LIMIT 1", [dataset]
    )
    if run is None:
        raise ReportError(f"no flag run for dataset {dataset!r}: run `clearsight flags run --dataset {dataset}`")
    return str(run)


def _sentence(row: dict[str, Any]) -> str:
    evidence = json.loads(row["evidence"]) if row["evidence"] else {}
    return indicator(row["indicator"]).explain(
        row["subject_type"], row["subject_id"], row["value"], row["threshold"], evidence
    )


def build_report(backend: Backend, dataset: str, run_id: str | None = None, processes: int = 100) -> str:
    """The HTML report of a flag run (default: the dataset's latest), with up to `processes` process pages."""
    run_id = run_id or _latest_run(backend, dataset)
    run = backend.query_dicts("SELECT * FROM flag_runs WHERE run_id = ?", [run_id])
    if not run:
        raise ReportError(f"no flag run {run_id!r}")
    meta = run[0]
    counts: dict[str, dict[str, int]] = {}
    for code, status, count in backend.query(
        "SELECT indicator, status, count(*) FROM flag_results WHERE run_id = ? GROUP BY ALL", [run_id]
    ):
        counts.setdefault(code, {})[status] = int(count)
    titles = {item.code: item.title for item in indicators()}
    total_processes = backend.query_value("SELECT count(*) FROM processes WHERE dataset = ?", [dataset])
    flagged_processes = backend.query_value(
        "SELECT count(DISTINCT ocid) FROM flag_results WHERE run_id = ? AND status = 'flagged' "
        "AND subject_type = 'process'",
        [run_id],
    )
    risk = [
        row[0]
        for row in backend.query(
            "SELECT cri FROM risk_scores WHERE run_id = ? AND subject_type = 'process' AND status = 'scored'", [run_id]
        )
    ]
    top_buyers = backend.query(
        "SELECT coalesce(any_value(p.buyer_name), r.subject_id), r.weighted_score FROM risk_scores r "
        "LEFT JOIN processes p ON p.dataset = r.dataset AND p.buyer_id = r.subject_id "
        "WHERE r.run_id = ? AND r.subject_type = 'buyer' AND r.status = 'scored' "
        "GROUP BY r.subject_id, r.weighted_score ORDER BY r.weighted_score DESC, r.subject_id LIMIT 10",
        [run_id],
    )
    top_suppliers = backend.query(
        "SELECT coalesce(any_value(s.supplier_name), r.subject_id), r.weighted_score FROM risk_scores r "
        "LEFT JOIN award_suppliers s ON s.dataset = r.dataset AND s.supplier_id = r.subject_id "
        "WHERE r.run_id = ? AND r.subject_type = 'tenderer' AND r.status = 'scored' "
        "GROUP BY r.subject_id, r.weighted_score ORDER BY r.weighted_score DESC, r.subject_id LIMIT 10",
        [run_id],
    )
    trend = backend.query(
        "SELECT month, count(DISTINCT ocid) FROM ("
        "SELECT strftime(coalesce(p.tender_period_start, p.release_date), '%Y-%m') AS month, f.ocid "
        "FROM flag_results f JOIN processes p ON p.dataset = f.dataset AND p.ocid = f.ocid "
        "WHERE f.run_id = ? AND f.status = 'flagged' AND f.subject_type = 'process') "
        "WHERE month IS NOT NULL GROUP BY month ORDER BY month",
        [run_id],
    )
    riskiest = backend.query_dicts(
        "SELECT r.subject_id AS ocid, r.cri, r.weighted_score, r.flagged_indicators, p.title, p.buyer_name, "
        "p.tender_value_amount, p.tender_value_currency, p.procurement_method "
        "FROM risk_scores r JOIN processes p ON p.dataset = r.dataset AND p.ocid = r.subject_id "
        "WHERE r.run_id = ? AND r.subject_type = 'process' AND r.flagged > 0 ORDER BY r.rank LIMIT ?",
        [run_id, processes],
    )
    flags_by_process: dict[str, list[dict[str, Any]]] = {}
    if riskiest:
        ocids = [row["ocid"] for row in riskiest]
        for row in backend.query_dicts(  # one marker per value: every engine binds scalars, not all bind lists
            "SELECT * FROM flag_results WHERE run_id = ? AND status = 'flagged' AND subject_type = 'process' "
            f"AND ocid IN ({', '.join('?' * len(ocids))}) ORDER BY ocid, indicator, subject_type, subject_id",
            [run_id, *ocids],
        ):
            flags_by_process.setdefault(row["ocid"], []).append(row)
    organisations = backend.query_dicts(
        "SELECT * FROM flag_results WHERE run_id = ? AND status = 'flagged' AND ocid IS NULL "
        "ORDER BY indicator, value DESC, subject_type, subject_id LIMIT 200",
        [run_id],
    )

    summary_rows = "".join(
        f"<tr><td>{code}</td><td>{escape(titles.get(code, code))}</td>"
        + "".join(f'<td class="n">{counts[code].get(status, 0):,}</td>' for status in STATUSES)
        + "</tr>"
        for code in sorted(counts)
    )
    process_sections = []
    for row in riskiest:
        items = "".join(
            f'<li><span class="flag">{escape(flag["indicator"])}</span> {escape(_sentence(flag))}</li>'
            for flag in sorted(flags_by_process.get(row["ocid"], []), key=lambda flag: flag["indicator"])
        )
        value = (
            f"{row['tender_value_amount']:,.2f} {row['tender_value_currency'] or ''}"
            if row["tender_value_amount"] is not None
            else "value not published"
        )
        process_sections.append(
            f'<section class="process" id="{escape(row["ocid"])}"><h3>{escape(row["ocid"])}: '
            f"{escape(row['title'] or 'untitled')}</h3>"
            f'<p class="meta">{escape(row["buyer_name"] or "unknown buyer")} · '
            f"{escape(row['procurement_method'] or '')}"
            f" · {escape(value)} · risk index {row['cri']:.2f}, weighted {row['weighted_score']:.2f}</p>"
            f"<ul>{items}</ul></section>"
        )
    organisation_items = "".join(
        f'<li><span class="flag">{escape(row["indicator"])}</span> {escape(_sentence(row))}</li>'
        for row in organisations
    )
    network_sections = _network_sections(backend, dataset)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>clearsight report: {escape(dataset)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>Red flags in {escape(dataset)}</h1>
<p class="meta">Run {escape(run_id)} · profile {escape(str(meta["profile"]))} · clearsight {
        escape(str(meta["code_version"]))
    }
 · {escape(str(meta["finished_at"]))}</p>
<nav><a href="#summary">Summary</a><a href="#risk">Risk</a><a href="#trend">Trend</a>
<a href="#organisations">Organisations</a><a href="#networks">Supplier networks</a>
<a href="#processes">Processes</a></nav>
<h2 id="summary">Summary</h2>
<p>{total_processes:,} contracting processes; {flagged_processes:,} flagged by at least one indicator. A flag is a
reason to look closer, not a finding: read each explanation and the evidence before acting.</p>
{charts.stacked_bars([(code, counts[code]) for code in sorted(counts)], "Verdicts by indicator")}
<table><thead><tr><th>code</th><th>indicator</th>{
        "".join(f"<th>{status.replace('_', ' ')}</th>" for status in STATUSES)
    }
</tr></thead><tbody>{summary_rows}</tbody></table>
<h2 id="risk">Risk</h2>
<p>Corruption-risk index per process: the share of indicators that flagged it among those that could judge it.</p>
{charts.histogram(risk, "Distribution of process risk")}
<h3>Riskiest buyers</h3>{charts.bars([(str(name), float(score)) for name, score in top_buyers], "Riskiest buyers")}
<h3>Riskiest suppliers</h3>{
        charts.bars([(str(name), float(score)) for name, score in top_suppliers], "Riskiest suppliers")
    }
<h2 id="trend">Flagged processes over time</h2>
{charts.line([(str(month), float(count)) for month, count in trend], "Flagged processes per month")}
<h2 id="organisations">Organisations</h2>
<ul>{organisation_items or "<li>No organisation was flagged.</li>"}</ul>
<h2 id="networks">Supplier networks</h2>
{network_sections}
<h2 id="processes">Processes (riskiest first)</h2>
{"".join(process_sections) or "<p>No process was flagged.</p>"}
</body></html>
"""


def _network_sections(backend: Backend, dataset: str, groups: int = 3) -> str:
    """The most suspicious supplier groups (from `clearsight network build`), each with its picture."""
    if not backend.has_table("network_groups"):
        return "<p>The supplier network is not built (run <code>clearsight network build</code>).</p>"
    rows = backend.query_dicts(
        "SELECT * FROM network_groups WHERE dataset = ? ORDER BY score DESC, group_id LIMIT ?", [dataset, groups]
    )
    if not rows:
        return "<p>The supplier network is not built (run <code>clearsight network build</code>).</p>"
    sections = []
    for group in rows:
        detail = group_detail(backend, dataset, group["group_id"])
        wins = {item["firm"]: int(item["wins"]) for item in detail["evidence"]["wins"]}
        nodes = [(item["id"], str(item["name"] or item["id"]), wins.get(item["id"], 0)) for item in detail["members"]]
        links = [(link["source"], link["target"], link["kind"], link["weight"]) for link in detail["links"]]
        picture = charts.network(nodes, links, "Supplier group " + str(group["group_id"]))
        sections.append(
            f'<section class="group"><h3>{escape(group["group_id"])}: score {group["score"]:.2f}</h3>'
            f"<p>{group['size']} suppliers. In {group['joint_processes']:,} processes at least two of them bid; a "
            f"member won {group['member_win_share']:.0%} of those, and {group['distinct_winners']} members took "
            f"turns (evenness {group['rotation']:.2f}); {group['shared_identifier_links']} pairs share a telephone "
            f"or e-mail. Details: <code>clearsight network show {escape(group['group_id'])}</code>.</p>"
            f"{picture}</section>"
        )
    return "".join(sections)
