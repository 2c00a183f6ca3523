"""Build the supplier network of a dataset in SQL, find communities with Louvain, score each group.

Links between two suppliers (undirected, stored once with source < target):
- co_bid: they were tenderers of submitted bids in the same processes (weight: how many), with how often each won
  while the other lost;
- shared_address / shared_telephone / shared_email: the same normalised value in their party records (values shared
  by more than `max_shared` parties are treated as placeholders and ignored);
- similar_name: the same name once lower-cased, stripped of punctuation and of legal-form words (company-name entity
  resolution: "Alpha Build Ltd." and "ALPHA BUILD LLC" are one name).
Buyers link to the suppliers they awarded (awarded), for the picture and the GraphML export; they take no part in the
communities.

Communities are Louvain communities (networkx, seeded) of the supplier graph, where a co-bidding link weighs its
Jaccard index (joint processes / processes either bid in; links below `min_jaccard` are left out: firms of one
market meet now and then, a ring's members nearly always), a shared telephone or e-mail weighs 1, and a shared address
or similar name 0.5; a pair held only by an address or only by a name is left out (office blocks and common names
collide), one sharing both is kept.
A group is then scored by what cartels do (docs/network.md): its members win the processes they bid in together,
take turns doing so, and share identifiers.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clearsight.engine import Backend
from clearsight.flags.base import sql_literal
from clearsight.flags.runner import participation
from clearsight.model import ALL_TABLES, NETWORK_EDGES, NETWORK_GROUPS
from clearsight.registry.ingest import PROBLEM, RAW, csv_batches

# Words of legal forms and filler dropped from company names before comparing them.
LEGAL_WORDS = (
    "ltd",
    "limited",
    "llc",
    "llp",
    "plc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "kft",
    "sro",
    "doo",
    "tov",
    "ooo",
    "pp",
    "group",
    "holding",
    "holdings",
    "the",
    "and",
)


@dataclass
class NetworkSummary:
    dataset: str
    suppliers: int
    edges: dict[str, int]
    groups: int
    suspicious_groups: int
    identifiers_read: int = 0
    identifiers_rejected: dict[str, int] = field(default_factory=dict)  # reason -> rows
    identifiers_rejected_examples: list[str] = field(default_factory=list)  # the first 20, by file, line and field

    def to_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "suppliers": self.suppliers,
            "edges": self.edges,
            "groups": self.groups,
            "suspicious_groups": self.suspicious_groups,
            "identifiers_read": self.identifiers_read,
            "identifiers_rejected": self.identifiers_rejected,
            "identifiers_rejected_examples": self.identifiers_rejected_examples,
        }


class IdentifiersError(ValueError):
    """An identifiers file that cannot be used (missing, unreadable, or without the required columns)."""


IDENTIFIER_COLUMNS = ("party_id", "kind", "value")


def _load_identifiers(backend: Backend, path: Path) -> tuple[int, dict[str, int], list[str]]:
    """Read (party_id, kind, value) rows — bank accounts, owners, directors from a company register, … — into the
    temp table _identifiers. Rows with an empty field are rejected, never silently dropped: counted by reason, and
    the first ones named by file, line (CSV; row for Parquet) and field. The file is read here (Arrow), so that
    every engine gets the same rows."""
    if not path.exists():
        raise IdentifiersError(f"{path}: no such file")
    parquet = path.suffix.lower() == ".parquet"
    try:
        if parquet:
            columns = set(pq.read_schema(path).names)
        else:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                columns = set(next(csv.reader(handle), []))
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException) as error:
        raise IdentifiersError(f"{path}: cannot be read: {error}") from error
    missing = [column for column in IDENTIFIER_COLUMNS if column not in columns]
    if missing:
        raise IdentifiersError(
            f"{path}: missing column(s) {', '.join(missing)}; an identifiers file has columns "
            f"{', '.join(IDENTIFIER_COLUMNS)} (e.g. S1,bank_account,GB29NWBK60161331926819)"
        )
    first = "row" if parquet else "line"
    table = _parquet_with_rows(path) if parquet else _csv_with_lines(path)
    with backend.registered("_identifiers_lines", table):
        backend.execute("""
            CREATE OR REPLACE TEMP TABLE _identifiers_raw AS
            SELECT position, nullif(trim(CAST(party_id AS VARCHAR)), '') AS party_id,
                   nullif(regexp_replace(lower(trim(CAST(kind AS VARCHAR))), '[^a-z0-9]+', '_', 'g'), '') AS kind,
                   nullif(lower(regexp_replace(trim(CAST(value AS VARCHAR)), '\\s+', ' ', 'g')), '') AS value
            FROM _identifiers_lines
        """)
    reasons = """CASE WHEN party_id IS NULL THEN 'party_id' WHEN kind IS NULL THEN 'kind' ELSE 'value' END"""
    bad = "party_id IS NULL OR kind IS NULL OR value IS NULL"
    rejected = dict(
        backend.query(f"SELECT 'empty ' || {reasons}, count(*) FROM _identifiers_raw WHERE {bad} GROUP BY 1 ORDER BY 1")
    )
    examples = [
        f"{path}: {first} {row_position}: field {field} is empty"
        for row_position, field in backend.query(
            f"SELECT position, {reasons} FROM _identifiers_raw WHERE {bad} ORDER BY position LIMIT 20"
        )
    ]
    backend.execute(f"""
        CREATE OR REPLACE TEMP TABLE _identifiers AS
        SELECT party_id, kind, value FROM _identifiers_raw WHERE NOT ({bad})
    """)
    read = int(backend.query_value("SELECT count(*) FROM _identifiers_raw"))
    backend.execute("DROP TABLE _identifiers_raw")
    return read, {reason: int(count) for reason, count in rejected.items()}, examples


def _parquet_with_rows(path: Path) -> pa.Table:
    """The identifier columns of a Parquet file as text, with each row's number (column `position`)."""
    table = pq.read_table(path, columns=list(IDENTIFIER_COLUMNS))
    return pa.table(
        {
            "position": pa.array(range(1, table.num_rows + 1), pa.int64()),
            **{name: table.column(name).cast(pa.string()) for name in IDENTIFIER_COLUMNS},
        }
    )


def _csv_with_lines(path: Path) -> pa.Table:
    """The identifier columns of a CSV file, with the line each row starts on (column `position`)."""
    batches = list(csv_batches(path, list(IDENTIFIER_COLUMNS), batch_rows=1_000_000))
    if not batches:
        return pa.table(
            {"position": pa.array([], pa.int64()), **{c: pa.array([], pa.string()) for c in IDENTIFIER_COLUMNS}}
        )
    table = pa.concat_tables(batches)
    problems = table.filter(pc.is_valid(table.column(PROBLEM)))
    if problems.num_rows:
        line, problem = problems.column(0)[0].as_py(), problems.column(PROBLEM)[0].as_py()
        more = f" (and {problems.num_rows - 1} more rows)" if problems.num_rows > 1 else ""
        raise IdentifiersError(f"{path}, line {line}: {problem}{more}")
    table = table.drop_columns([PROBLEM, RAW])
    return table.rename_columns(["position", *IDENTIFIER_COLUMNS])


def _name_key_sql(column: str) -> str:
    words = "|".join(LEGAL_WORDS)
    cleaned = f"regexp_replace(lower(strip_accents({column})), '[^a-z0-9 ]', ' ', 'g')"
    return f"trim(regexp_replace(regexp_replace({cleaned}, '\\b({words})\\b', ' ', 'g'), ' +', ' ', 'g'))"


def build_network(
    backend: Backend,
    dataset: str,
    *,
    min_co_bids: int = 2,
    min_jaccard: float = 0.25,
    max_shared: int = 20,
    seed: int = 42,
    identifiers: Path | None = None,
) -> NetworkSummary:
    """(Re)build network_edges and network_groups for `dataset`.

    `identifiers`: an optional CSV or Parquet file of (party_id, kind, value) rows from outside the OCDS data — bank
    accounts, owners, directors from a company register — each kind giving `shared_<kind>` links that weigh like a
    shared telephone."""
    backend.ensure_tables(ALL_TABLES)
    identifiers_read, identifiers_rejected, rejected_examples = 0, dict[str, int](), list[str]()
    if identifiers is not None:
        identifiers_read, identifiers_rejected, rejected_examples = _load_identifiers(backend, identifiers)
    d = sql_literal(dataset)
    backend.execute(
        f"CREATE OR REPLACE TEMP TABLE _participants AS SELECT * FROM {participation(dataset)['bid_outcomes']}"
    )
    backend.delete_dataset(NETWORK_EDGES, dataset)
    backend.delete_dataset(NETWORK_GROUPS, dataset)
    backend.execute(f"""
        INSERT INTO network_edges (dataset, source, target, kind, weight, evidence)
        SELECT {d}, a.firm, b.firm, 'co_bid', count(*),
               to_json({{'processes': count(*),
                        'source_beat_target': count(*) FILTER (WHERE a.won AND NOT b.won),
                        'target_beat_source': count(*) FILTER (WHERE b.won AND NOT a.won),
                        'examples': list(a.ocid ORDER BY a.ocid)[1:5]}})
        FROM _participants AS a JOIN _participants AS b ON b.ocid = a.ocid AND a.firm < b.firm
        GROUP BY a.firm, b.firm HAVING count(*) >= {int(min_co_bids)}
    """)
    shared = {
        "shared_address": "nullif(lower(trim(coalesce(street_address, '') || ', ' || coalesce(locality, ''))), ',')",
        "shared_telephone": "CASE WHEN length(regexp_replace(contact_telephone, '[^0-9]', '', 'g')) >= 6 "
        "THEN regexp_replace(contact_telephone, '[^0-9]', '', 'g') END",
        "shared_email": "nullif(lower(trim(contact_email)), '')",
        "similar_name": f"nullif({_name_key_sql('coalesce(legal_name, name)')}, '')",
    }
    for kind, expression in shared.items():
        backend.execute(f"""
            INSERT INTO network_edges (dataset, source, target, kind, weight, evidence)
            WITH firms AS (
                SELECT DISTINCT party_id, {expression} AS value FROM parties
                WHERE dataset = {d} AND party_id IS NOT NULL
                  AND (list_contains(roles, 'supplier') OR list_contains(roles, 'tenderer'))
            ),
            values_ AS (
                SELECT value FROM firms WHERE value IS NOT NULL
                GROUP BY value HAVING count(DISTINCT party_id) BETWEEN 2 AND {int(max_shared)}
            )
            SELECT DISTINCT {d}, a.party_id, b.party_id, '{kind}', 1.0, to_json({{'value': a.value}})
            FROM firms AS a JOIN firms AS b ON b.value = a.value AND a.party_id < b.party_id
            WHERE a.value IN (SELECT value FROM values_)
        """)
    if identifiers is not None:
        backend.execute(f"""
            INSERT INTO network_edges (dataset, source, target, kind, weight, evidence)
            WITH values_ AS (
                SELECT kind, value FROM _identifiers GROUP BY kind, value
                HAVING count(DISTINCT party_id) BETWEEN 2 AND {int(max_shared)}
            )
            SELECT DISTINCT {d}, a.party_id, b.party_id, 'shared_' || a.kind, 1.0,
                   to_json({{'value': a.value, 'source': {sql_literal(identifiers.name)}}})
            FROM _identifiers AS a
            JOIN values_ AS v ON v.kind = a.kind AND v.value = a.value
            JOIN _identifiers AS b ON b.kind = a.kind AND b.value = a.value AND a.party_id < b.party_id
        """)
        backend.execute("DROP TABLE _identifiers")
    backend.execute(f"""
        INSERT INTO network_edges (dataset, source, target, kind, weight, evidence)
        SELECT {d}, p.buyer_id, s.supplier_id, 'awarded', count(DISTINCT a.ocid), to_json({{'awards': count(*)}})
        FROM awards AS a
        JOIN award_suppliers AS s ON s.dataset = a.dataset AND s.ocid = a.ocid AND s.award_position = a.award_position
        JOIN processes AS p ON p.dataset = a.dataset AND p.ocid = a.ocid
        WHERE a.dataset = {d} AND a.status = 'active' AND p.buyer_id IS NOT NULL AND s.supplier_id IS NOT NULL
        GROUP BY p.buyer_id, s.supplier_id
    """)
    graph = _supplier_graph(backend, dataset, min_jaccard)
    communities = nx.community.louvain_communities(graph, weight="weight", seed=seed) if graph.number_of_edges() else []
    groups = [sorted(members) for members in communities if len(members) >= 2]
    _score_groups(backend, dataset, groups)
    edges = dict(
        backend.query(f"SELECT kind, count(*) FROM network_edges WHERE dataset = {d} GROUP BY kind ORDER BY 1")
    )
    suspicious = backend.query_value(f"SELECT count(*) FROM network_groups WHERE dataset = {d} AND score >= 0.5")
    backend.execute("DROP TABLE IF EXISTS _participants")
    return NetworkSummary(
        dataset,
        graph.number_of_nodes(),
        edges,
        len(groups),
        int(suspicious),
        identifiers_read,
        identifiers_rejected,
        rejected_examples,
    )


# Weight of each kind of link in the community graph; co-bidding links weigh their Jaccard index.
# A pair linked only by an address or only by a name (0.5) stays out: on their own they collide too often.
LINK_WEIGHTS = {"shared_telephone": 1.0, "shared_email": 1.0, "shared_address": 0.5, "similar_name": 0.5}


def _supplier_graph(backend: Backend, dataset: str, min_jaccard: float) -> nx.Graph:
    d = sql_literal(dataset)
    weights = " ".join(f"WHEN '{kind}' THEN {weight}" for kind, weight in LINK_WEIGHTS.items())
    rows = backend.query(f"""
        WITH bids_per_firm AS (SELECT firm, count(DISTINCT ocid) AS n FROM _participants GROUP BY firm),
        weighted AS (
            SELECT e.source, e.target,
                   CASE e.kind WHEN 'co_bid' THEN e.weight / (s.n + t.n - e.weight) {weights} ELSE 1.0 END AS weight,
                   e.kind
            FROM network_edges AS e
            LEFT JOIN bids_per_firm AS s ON s.firm = e.source
            LEFT JOIN bids_per_firm AS t ON t.firm = e.target
            WHERE e.dataset = {d} AND e.kind <> 'awarded'
        )
        SELECT source, target, sum(weight) FROM weighted
        WHERE kind <> 'co_bid' OR weight >= {float(min_jaccard)}
        GROUP BY source, target
        HAVING bool_or(kind = 'co_bid') OR sum(weight) >= 1.0
    """)
    graph = nx.Graph()
    graph.add_weighted_edges_from((source, target, float(weight)) for source, target, weight in rows)
    return graph


def _score_groups(backend: Backend, dataset: str, groups: list[list[str]]) -> None:
    if not groups:
        return
    d = sql_literal(dataset)
    membership = pa.table(
        {
            "firm": [firm for members in groups for firm in members],
            "group_index": [index for index, members in enumerate(groups) for _ in members],
        }
    )
    with backend.registered("_membership", membership):
        rows = backend.query_dicts(f"""
            WITH member_bids AS (
                SELECT m.group_index, p.ocid, p.firm, p.won
                FROM _participants AS p JOIN _membership AS m ON m.firm = p.firm
            ),
            joint AS (  -- processes in which at least two members of a group bid
                SELECT group_index, ocid, bool_or(won) AS member_won
                FROM member_bids GROUP BY group_index, ocid HAVING count(*) >= 2
            ),
            wins AS (
                SELECT b.group_index, b.firm, count(*) AS wins
                FROM member_bids AS b JOIN joint AS j ON j.group_index = b.group_index AND j.ocid = b.ocid
                WHERE b.won GROUP BY b.group_index, b.firm
            ),
            win_lists AS (
                SELECT group_index, list({{'firm': firm, 'wins': wins}} ORDER BY wins DESC, firm) AS wins
                FROM wins GROUP BY group_index
            ),
            links AS (
                SELECT m1.group_index,
                       count(DISTINCT (e.source, e.target))
                           FILTER (WHERE e.kind NOT IN ('co_bid', 'shared_address', 'similar_name')) AS shared,
                       list(DISTINCT e.kind || ': ' || e.source || ' - ' || e.target) FILTER (WHERE e.kind <> 'co_bid')
                           AS shared_links
                FROM network_edges AS e
                JOIN _membership AS m1 ON m1.firm = e.source JOIN _membership AS m2 ON m2.firm = e.target
                WHERE e.dataset = {d} AND m1.group_index = m2.group_index
                GROUP BY m1.group_index
            )
            SELECT g.group_index, count(j.ocid) AS joint_processes,
                   avg(CASE WHEN j.member_won THEN 1.0 ELSE 0.0 END) AS member_win_share,
                   any_value(w.wins) AS wins, any_value(l.shared) AS shared, any_value(l.shared_links) AS shared_links
            FROM (SELECT DISTINCT group_index FROM _membership) AS g
            LEFT JOIN joint AS j ON j.group_index = g.group_index
            LEFT JOIN win_lists AS w ON w.group_index = g.group_index
            LEFT JOIN links AS l ON l.group_index = g.group_index
            GROUP BY g.group_index
        """)
    by_index = {row["group_index"]: row for row in rows}
    scored = []
    for index, members in enumerate(groups):
        row = by_index.get(index, {})
        joint = int(row.get("joint_processes") or 0)
        wins = row.get("wins") or []
        shared = int(row.get("shared") or 0)
        win_share = float(row.get("member_win_share") or 0.0)
        rotation = _evenness([int(item["wins"]) for item in wins], len(members))
        # Enough joint processes to judge a group: saturates at five per member.
        support = min(1.0, joint / (5 * len(members)))
        # Pairs sharing a telephone, an e-mail or an identifier from a file (bank account, owner, director): three
        # such pairs (a trio of shells) saturate.
        identifiers = min(1.0, shared / 3)
        score = max(win_share * rotation * support, identifiers)
        evidence = {"wins": wins, "shared_links": sorted(row.get("shared_links") or [])[:20]}
        scored.append((score, members, joint, win_share, len(wins), rotation, shared, evidence))
    scored.sort(key=lambda item: (-item[0], item[1]))
    table = pa.table(
        {
            "dataset": [dataset] * len(scored),
            "group_id": [f"G{rank}" for rank in range(1, len(scored) + 1)],
            "members": [item[1] for item in scored],
            "size": [len(item[1]) for item in scored],
            "joint_processes": [item[2] for item in scored],
            "member_win_share": [item[3] for item in scored],
            "distinct_winners": [item[4] for item in scored],
            "rotation": [item[5] for item in scored],
            "shared_identifier_links": [item[6] for item in scored],
            "score": [round(item[0], 6) for item in scored],
            "evidence": [_json(item[7]) for item in scored],
        }
    )
    backend.append_arrow("network_groups", table)


def _evenness(wins: list[int], members: int) -> float:
    """Normalised Shannon entropy of the wins over the members: 1 when every member won equally, 0 when one won all."""
    total = sum(wins)
    if total == 0 or members < 2:
        return 0.0
    entropy = -sum((w / total) * math.log(w / total) for w in wins if w)
    return max(0.0, entropy / math.log(members))


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()
