"""Run indicators: render each one's SQL for a dataset and profile, and write its rows to flag_results."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from clearsight import __version__
from clearsight.engine import Backend, pending
from clearsight.flags.base import STATUSES, Indicator, sql_literal
from clearsight.flags.profile import Profile
from clearsight.flags.registry import indicator, indicators
from clearsight.model import ALL_TABLES

logger = logging.getLogger(__name__)

ENGINE_SHARE = 0.6  # of a flag run's memory budget, for the engine (no worker processes; Python holds little)


@dataclass
class FlagRunSummary:
    run_id: str
    dataset: str
    profile: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # code -> status -> rows
    seconds: dict[str, float] = field(default_factory=dict)
    duration_seconds: float = 0.0
    risk_scores: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk_scores": self.risk_scores,
            "run_id": self.run_id,
            "dataset": self.dataset,
            "profile": self.profile,
            "counts": self.counts,
            "seconds": self.seconds,
            "duration_seconds": self.duration_seconds,
        }


def participation(dataset: str) -> dict[str, str]:
    """Who bid and who won, for indicators and the supplier network alike.

    - `submitted_tenderers` (ocid, tenderer_id): tenderers of submitted bids (valid, disqualified or pending);
    - `active_winners` (ocid, supplier_id): suppliers of active awards;
    - `bid_outcomes` (ocid, firm, won): each submitted tenderer and whether it won in that process.
    """
    d = sql_literal(dataset)
    submitted = (
        "(SELECT DISTINCT t.ocid, t.tenderer_id FROM bid_tenderers AS t JOIN bids AS b ON b.dataset = t.dataset "
        f"AND b.ocid = t.ocid AND b.bid_position = t.bid_position WHERE t.dataset = {d} "
        "AND t.tenderer_id IS NOT NULL AND b.status IN ('valid', 'disqualified', 'pending'))"
    )
    winners = (
        "(SELECT DISTINCT s.ocid, s.supplier_id FROM award_suppliers AS s JOIN awards AS a ON a.dataset = s.dataset "
        f"AND a.ocid = s.ocid AND a.award_position = s.award_position WHERE s.dataset = {d} AND a.status = 'active' "
        "AND s.supplier_id IS NOT NULL)"
    )
    outcomes = (
        f"(SELECT b.ocid, b.tenderer_id AS firm, w.supplier_id IS NOT NULL AS won FROM {submitted} AS b "
        f"LEFT JOIN {winners} AS w ON w.ocid = b.ocid AND w.supplier_id = b.tenderer_id)"
    )
    return {"submitted_tenderers": submitted, "active_winners": winners, "bid_outcomes": outcomes}


def run_context(dataset: str, profile: Profile) -> dict[str, str]:
    """SQL snippets every indicator may use, for one dataset and profile.

    - `${dataset}`: the dataset name; `${scope}`: the processes in scope (not cancelled, not excluded);
    - `${price_comparison}`: whether process `p` compares prices (a condition on alias `p`);
    - `${main_currency}`: the main currency; `${bids_main}`: the dataset's bids with `amount_main`, the amount
      in the main currency (converted with the profile's rates; NULL when no rate is known);
    - `${awards_final}` (ocid, all_final, active_awards), `${sole_winner}` (ocid, winner), `${bid_tenderer}`
      (bids by one tenderer, with tenderer_id), `${second_lowest}` (ocid, winner, winner_amount, lowest_other,
      lowest_other_tenderer);
    - `${submitted_tenderers}`, `${active_winners}`, `${bid_outcomes}`: see `participation`;
    - `${entity_keys}` (record_id, identifier_key) and `${ownership_edges}` (subject, party, start_date, end_date):
      see `flags.ownership.ownership_context`.
    """
    from clearsight.flags.ownership import ownership_context

    d = sql_literal(dataset)
    conditions = [f"dataset = {d}"]
    if profile.exclude_cancelled:
        conditions.append("coalesce(status, '') <> 'cancelled'")
    if profile.exclude_procurement_method_details:
        excluded = sql_literal(profile.exclude_procurement_method_details)
        conditions.append(f"NOT coalesce(list_contains({excluded}, procurement_method_details), FALSE)")
    scope = f"(SELECT * FROM processes WHERE {' AND '.join(conditions)})"
    if profile.price_comparison_procurement_methods:
        allowed = sql_literal(profile.price_comparison_procurement_methods)
        price_comparison = f"coalesce(list_contains({allowed}, p.procurement_method_details), FALSE)"
    elif profile.no_price_comparison_procurement_methods:
        denied = sql_literal(profile.no_price_comparison_procurement_methods)
        price_comparison = f"NOT coalesce(list_contains({denied}, p.procurement_method_details), FALSE)"
    else:
        price_comparison = "TRUE"
    if profile.currency:
        main_currency = sql_literal(profile.currency)
    else:
        # The most common currency of the dataset's bids, else of its awards, else of its estimates.
        main_currency = (
            "coalesce("
            + ", ".join(
                f"(SELECT {column} FROM {table} WHERE dataset = {d} AND {column} IS NOT NULL "
                f"GROUP BY {column} ORDER BY count(*) DESC, {column} LIMIT 1)"
                for table, column in (
                    ("bids", "value_currency"),
                    ("awards", "value_currency"),
                    ("processes", "tender_value_currency"),
                )
            )
            + ")"
        )
    rates = " ".join(
        f"WHEN b.value_currency = {sql_literal(code)} THEN b.value_amount * {float(rate)!r}"
        for code, rate in sorted(profile.fx.items())
    )
    bids_main = (
        f"(SELECT b.*, CASE WHEN b.value_currency = {main_currency} THEN b.value_amount {rates} END "
        f"AS amount_main FROM bids AS b WHERE b.dataset = {d})"
    )
    # Awards are "final" when every award with a status is active, cancelled or unsuccessful (a pending or
    # invalid award could still change the outcome). The sole winner is the one supplier of the one active award.
    awards_final = (
        f"(SELECT ocid, bool_and(status IS NULL OR status IN ('active', 'cancelled', 'unsuccessful')) AS all_final, "
        f"count(*) FILTER (WHERE status = 'active') AS active_awards FROM awards WHERE dataset = {d} GROUP BY ocid)"
    )
    sole_winner = (
        f"(SELECT a.ocid, any_value(s.supplier_id) AS winner FROM awards AS a "
        f"JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid "
        f"AND s.award_position = a.award_position "
        f"WHERE a.dataset = {d} AND a.status = 'active' AND a.supplier_count = 1 AND s.supplier_id IS NOT NULL "
        f"GROUP BY a.ocid HAVING count(*) = 1)"
    )
    # Bids with their one tenderer (bids by consortia are left out where an indicator compares bidders).
    bid_tenderer = (
        f"(SELECT b.*, t.tenderer_id FROM {bids_main} AS b JOIN bid_tenderers AS t ON t.dataset = b.dataset "
        f"AND t.ocid = b.ocid AND t.bid_position = b.bid_position WHERE b.tenderer_count = 1 "
        f"AND t.tenderer_id IS NOT NULL)"
    )
    # The winner's lowest valid bid and the lowest valid bid of anyone else, in processes that compare prices,
    # whose awards are final and which have one winner (Cardinal's "second-lowest bid ratio").
    second_lowest = f"""(
        SELECT *, CASE WHEN winner_amount > 0 AND lowest_other >= winner_amount
                       THEN (lowest_other - winner_amount) / winner_amount END AS ratio
        FROM (
            SELECT p.ocid, w.winner,
                   min(t.amount_main) FILTER (WHERE t.tenderer_id = w.winner) AS winner_amount,
                   min(t.amount_main) FILTER (WHERE t.tenderer_id <> w.winner) AS lowest_other,
                   arg_min(t.tenderer_id, t.amount_main) FILTER (WHERE t.tenderer_id <> w.winner)
                       AS lowest_other_tenderer
            FROM {scope} AS p
            JOIN {awards_final} AS f ON f.ocid = p.ocid AND f.all_final AND f.active_awards = 1
            JOIN {sole_winner} AS w ON w.ocid = p.ocid
            JOIN {bid_tenderer} AS t ON t.ocid = p.ocid AND t.status = 'valid' AND t.amount_main IS NOT NULL
            WHERE {price_comparison}
            GROUP BY p.ocid, w.winner
        )
    )"""
    return {
        "dataset": d,
        "scope": scope,
        "price_comparison": price_comparison,
        "main_currency": main_currency,
        "bids_main": bids_main,
        "awards_final": awards_final,
        "sole_winner": sole_winner,
        "bid_tenderer": bid_tenderer,
        "second_lowest": second_lowest,
        **participation(dataset),
        **registry_context(dataset),
        **ownership_context(dataset),
    }


def registry_context(dataset: str) -> dict[str, str]:
    """What the registry checks read (indicators L001–L010) for one dataset of registries.

    - `${registry}`: the latest version of every registry record;
    - `${link_runs}` and `${links}`: the dataset's linkage runs and scored pairs (`clearsight link registries`);
    - `${same_person}` (linkage, kind, record_id, other, match_probability, explanation): the pairs of a
      registry's deduplication (payroll~payroll, ...) seen from each of their two records;
    - `${best_civil}` (kind, record_id, person, probability, evidence, explanation): each record's most probable
      civil-registry match, its evidence (match weight minus the prior's weight: how much more likely the fields
      agree so if it is the same person than if it is not, in bits, whatever the registry's size), and the civil
      record's `date_of_birth` and `date_of_death` as `civil_birth` and `civil_death`.
    """
    d = sql_literal(dataset)
    registry = (
        f"(SELECT * FROM registry_records WHERE dataset = {d} "
        "QUALIFY version = max(version) OVER (PARTITION BY kind, record_id))"
    )
    # The latest run of each linkage (engines without DELETE keep the runs a new one superseded).
    latest = f"(SELECT max_by(run_id, started_at) FROM registry_link_runs WHERE dataset = {d} GROUP BY linkage)"
    links = f"(SELECT * FROM registry_links WHERE dataset = {d} AND run_id IN {latest})"
    best_civil = f"""(
        SELECT b.*, c.date_of_birth AS civil_birth, c.date_of_death AS civil_death
        FROM (
            SELECT left_kind AS kind, left_id AS record_id, arg_max(right_id, match_probability) AS person,
                   max(match_probability) AS probability, arg_max(explanation, match_probability) AS explanation,
                   max(match_weight - CAST(json_extract(explanation, '$.prior') AS DOUBLE)) AS evidence
            FROM {links} WHERE right_kind = 'civil' AND left_kind <> 'civil' GROUP BY left_kind, left_id
        ) AS b
        LEFT JOIN {registry} AS c ON c.kind = 'civil' AND c.record_id = b.person
    )"""
    same_person = (
        f"(SELECT linkage, left_kind AS kind, left_id AS record_id, right_id AS other, match_probability, explanation "
        f"FROM {links} WHERE left_kind = right_kind UNION ALL SELECT linkage, right_kind, right_id, left_id, "
        f"match_probability, explanation FROM {links} WHERE left_kind = right_kind)"
    )
    return {
        "registry": registry,
        "link_runs": f"(SELECT * FROM registry_link_runs WHERE dataset = {d} AND run_id IN {latest})",
        "links": links,
        "same_person": same_person,
        "best_civil": best_civil,
    }


def render(code: str, dataset: str, profile: Profile) -> str:
    """The SQL an indicator runs for a dataset and profile (for `flags explain --sql` and debugging)."""
    item = indicator(code)
    return item.render(profile.params_for(item.code), run_context(dataset, profile))


def _inputs(backend: Backend, dataset: str) -> list[dict[str, Any]]:
    rows = backend.query_dicts(
        "SELECT r.run_id, r.finished_at, f.path, f.sha256 FROM ingest_runs r "
        "LEFT JOIN ingest_files f USING (run_id) WHERE r.dataset = ? ORDER BY r.started_at, f.path",
        [dataset],
    )
    rows += backend.query_dicts(
        "SELECT run_id, linkage, started_at AS finished_at, model ->> 'prior_match_probability' AS prior "
        "FROM registry_link_runs WHERE dataset = ? ORDER BY linkage",
        [dataset],
    )
    return rows


def _significant(backend: Backend, expression: str, digits: int = 12) -> str:
    """`expression` rounded to `digits` significant digits. Sums of floating-point numbers depend on the order
    the engine adds them in — which threads, how the file's rows are laid out — so a ratio or mean can differ in
    its last bits between two runs on the same data; rounded, the stored value is the same in every run. Zero,
    NULL, infinities and NaN (which both engines order above every number) are kept as they are. Engines whose
    ROUND needs a constant scale (Spark) store the value as computed."""
    if not backend.dialect.row_scale:
        return expression
    return (
        f"CASE WHEN {expression} IS NULL OR {expression} = 0 OR abs({expression}) > 1e300 THEN {expression} "
        f"ELSE round({expression}, CAST({digits - 1} - floor(log10(abs({expression}))) AS INTEGER)) END"
    )


def _within_validity(sql: str, dataset: str, code: str, profile: Profile) -> str:
    """An indicator's rows with its rule's validity applied: a rule applies only to processes dated within it (e.g.
    a threshold set by a law in force from a date); rows of processes dated outside become not_applicable, their
    evidence saying why (with what the indicator measured under "evidence"). Done in the query, not by an UPDATE
    afterwards, so that it runs on every engine."""
    settings = profile.indicators.get(code)
    if settings is None or (settings.valid_from is None and settings.valid_to is None):
        return sql
    outside = []
    if settings.valid_from is not None:
        outside.append(f"moment < CAST({sql_literal(settings.valid_from.isoformat())} AS DATE)")
    if settings.valid_to is not None:
        outside.append(f"moment > CAST({sql_literal(settings.valid_to.isoformat())} AS DATE)")
    reason = (
        f"outside the validity of the rule ({settings.valid_from or ''}..{settings.valid_to or ''}"
        f"{'; ' + settings.legal_basis if settings.legal_basis else ''})"
    )
    # {"reason": why, "evidence": what the indicator measured}, written as text: the same on every engine.
    head = sql_literal('{"reason":' + orjson.dumps(reason).decode() + ',"evidence":')
    return f"""
        SELECT r.subject_type, r.subject_id, r.ocid,
               CASE WHEN coalesce(v.outside, FALSE) THEN 'not_applicable' ELSE r.status END AS status,
               r.value, r.threshold,
               CASE WHEN coalesce(v.outside, FALSE)
                    THEN CAST({head} || CAST(r.evidence AS VARCHAR) || '}}' AS JSON)
                    ELSE CAST(r.evidence AS JSON) END AS evidence
        FROM ({sql}) AS r
        LEFT JOIN (
            SELECT ocid, {" OR ".join(outside)} AS outside
            FROM (SELECT ocid, coalesce(tender_period_start, release_date) AS moment FROM processes
                  WHERE dataset = {sql_literal(dataset)}) AS dated
        ) AS v ON v.ocid = r.ocid"""


def run_flags(
    backend: Backend,
    dataset: str,
    profile: Profile,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    ledger: tuple[str, Callable[[FlagRunSummary], str]] | None = None,
    memory_budget: int | None = None,
) -> FlagRunSummary:
    """Run the enabled indicators (or `only` these codes) on a dataset; one flag_runs row, many flag_results.

    With `memory_budget` (bytes) the whole run keeps within it: the engine gets ENGINE_SHARE of it, the rest is
    the interpreter's (measured: 0.82 GB peak RSS for a 1 GB budget on 100,000 processes, 1.17 GB without).

    The run is one transaction: killed midway, it leaves nothing (on engines with transactions). With `ledger`
    (a log name and the entry for a summary), the entry the ledger is owed is recorded in that transaction
    (`clearsight.engine.pending`); the caller appends it and clears the record."""
    backend.ensure_tables(ALL_TABLES)
    pending.ensure(backend)  # created before the transaction: DDL stays out of it
    limited = backend.limited_memory(int(memory_budget * ENGINE_SHARE)) if memory_budget else contextlib.nullcontext()
    with limited, backend.transaction():
        summary = _run(backend, dataset, profile, only, progress)
        if ledger is not None:
            pending.owe(backend, ledger[0], "flag_run", summary.run_id, ledger[1](summary))
    logger.info("flags %s on %s: %d indicators in %.1fs", summary.run_id, dataset, len(summary.counts),
                summary.duration_seconds)  # fmt: skip
    return summary


def _run(
    backend: Backend,
    dataset: str,
    profile: Profile,
    only: Sequence[str] | None,
    progress: Callable[[str], None] | None,
) -> FlagRunSummary:
    selected: list[Indicator] = (
        [indicator(code) for code in only] if only else [item for item in indicators() if profile.enabled(item.code)]
    )
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    run_id = f"flags-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    summary = FlagRunSummary(run_id, dataset, profile.name)
    context = run_context(dataset, profile)
    prefix = f"{sql_literal(run_id)}, {sql_literal(dataset)}"
    for item in selected:
        began = time.perf_counter()
        sql = _within_validity(item.render(profile.params_for(item.code), context), dataset, item.code, profile)
        backend.execute(f"""
            INSERT INTO flag_results
            SELECT {prefix}, {sql_literal(item.code)}, subject_type, CAST(subject_id AS VARCHAR), ocid, status,
                   {_significant(backend, "CAST(value AS DOUBLE)")},
                   {_significant(backend, "CAST(threshold AS DOUBLE)")},
                   CAST(evidence AS JSON)
            FROM ({sql}) AS results""")
        counts = dict(
            backend.query(
                "SELECT status, count(*) FROM flag_results WHERE run_id = ? AND indicator = ? GROUP BY status",
                [run_id, item.code],
            )
        )
        bad = set(counts) - set(STATUSES)
        if bad:
            raise ValueError(f"{item.code} produced unknown statuses {sorted(bad)}")
        summary.counts[item.code] = {status: int(counts.get(status, 0)) for status in STATUSES}
        summary.seconds[item.code] = round(time.perf_counter() - began, 3)
        if progress:
            progress(item.code)
    from clearsight.flags.risk import compute_risk_scores

    summary.risk_scores = compute_risk_scores(backend, run_id, dataset, profile)
    summary.duration_seconds = round(time.perf_counter() - started, 3)
    backend.execute(
        "INSERT INTO flag_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            dataset,
            started_at,
            datetime.now(UTC),
            __version__,
            profile.name,
            profile.model_dump_json(),
            orjson.dumps(_inputs(backend, dataset), default=str).decode(),
            orjson.dumps(
                {code: {"counts": summary.counts[code], "seconds": summary.seconds[code]} for code in summary.counts}
            ).decode(),
        ],
    )
    return summary
