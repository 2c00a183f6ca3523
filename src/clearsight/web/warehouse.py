"""What the web app reads from the DuckDB warehouse: alerts, processes, organisation profiles, downloads.

The server never keeps the warehouse open: it reads a snapshot. It copies the warehouse file into its scratch
folder (holding DuckDB's shared lock only while it copies, so no writer is midway), attaches the copy as `wh`
inside an in-memory DuckDB that also holds `idx` — the alert index (every flagged result of each dataset's latest
flag run, with the buyer, supplier, amount, date and risk score an inbox filters and sorts on) and the mirror of
alert states from the app database. Every other command can therefore read and write the warehouse while the
server runs; `reload` notices a changed warehouse (file size and time) and swaps in a fresh snapshot and index,
replaying the alert states it mirrors. Queries run on per-thread cursors; nothing here writes the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from clearsight.engine import WarehouseBusy
from clearsight.engine.base import is_text_type, spreadsheet_safe_sql
from clearsight.engine.duckdb_backend import connect_waiting
from clearsight.flags.registry import indicator, indicators
from clearsight.model import ALL_TABLES, create_table_sql

ALERT_STATUSES = ("new", "triaged", "dismissed", "in_case")
CACHE_ENTRIES = 2000  # inbox facets and counts, per filter set and alert-state version
_T = TypeVar("_T")
log = logging.getLogger(__name__)


def file_signature(path: str) -> tuple[tuple[int, int], ...]:
    """What changes when anyone writes the warehouse: size and modification time of the file and its WAL."""
    signature = []
    for name in (path, f"{path}.wal"):
        try:
            stat = os.stat(name)
        except FileNotFoundError:
            signature.append((-1, -1))
        else:
            signature.append((stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


@dataclass
class _Generation:
    """One snapshot of the warehouse with its alert index, and the DuckDB that reads them."""

    number: int
    root: duckdb.DuckDBPyConnection
    files: list[Path]
    signature: tuple[tuple[int, int], ...]

    def close(self) -> None:
        self.root.close()
        for file in self.files:
            file.unlink(missing_ok=True)


# Columns of the inbox a user may sort on (name → SQL expression), and facets (name → column).
SORTS = {
    "risk": "risk",
    "amount": "amount",
    "date": "date",
    "indicator": "indicator",
    "buyer": "buyer_name",
    "supplier": "supplier_name",
}
SORT_TYPES = {"risk": "DOUBLE", "amount": "DOUBLE", "date": "DATE"}  # others are VARCHAR
# Facets: parameter name → (column filtered on, column shown).
FACETS = {
    "indicator": ("indicator", "indicator"),
    "status": ("status", "status"),
    "buyer": ("buyer_id", "buyer_name"),
    "supplier": ("supplier_id", "supplier_name"),
    "dataset": ("dataset", "dataset"),
}

_ALERT_INDEX_SQL = """
CREATE OR REPLACE TABLE idx.alerts AS
WITH latest AS (
    SELECT dataset, arg_max(run_id, started_at) AS run_id FROM flag_runs GROUP BY dataset
),
awarded AS (
    SELECT a.dataset, a.ocid, sum(a.value_amount) AS amount, min(a.date) AS award_date,
           arg_min(s.supplier_id, s.position) AS supplier_id, arg_min(s.supplier_name, s.position) AS supplier_name
    FROM awards a LEFT JOIN award_suppliers s USING (dataset, ocid, award_id, award_position)
    WHERE coalesce(a.status, 'active') NOT IN ('cancelled', 'unsuccessful')
    GROUP BY ALL
),
risk AS (
    SELECT r.dataset, r.subject_type, r.subject_id, r.weighted_score
    FROM risk_scores r JOIN latest USING (dataset, run_id)
),
names AS (
    SELECT dataset, party_id, any_value(name) AS name FROM parties GROUP BY ALL
)
SELECT
    substr(md5(f.dataset || '|' || f.indicator || '|' || f.subject_type || '|' || f.subject_id), 1, 24) AS alert_id,
    f.dataset, f.run_id, f.indicator, f.subject_type, f.subject_id, f.ocid, f.value, f.threshold,
    CAST(f.evidence AS VARCHAR) AS evidence,
    coalesce(p.buyer_id, CASE WHEN f.subject_type IN ('buyer', 'procuring_entity') THEN f.subject_id END) AS buyer_id,
    coalesce(p.buyer_name, CASE WHEN f.subject_type IN ('buyer', 'procuring_entity') THEN n.name END) AS buyer_name,
    coalesce(w.supplier_id, CASE WHEN f.subject_type = 'tenderer' THEN f.subject_id END) AS supplier_id,
    coalesce(w.supplier_name, CASE WHEN f.subject_type = 'tenderer' THEN n.name END) AS supplier_name,
    coalesce(w.amount, p.tender_value_amount) AS amount,
    CAST(coalesce(p.tender_period_start, w.award_date, p.release_date) AS DATE) AS date,
    coalesce(rp.weighted_score, ro.weighted_score) AS risk,
    p.title,
    'new' AS status
FROM flag_results f
JOIN latest USING (dataset, run_id)
LEFT JOIN processes p ON p.dataset = f.dataset AND p.ocid = f.ocid
LEFT JOIN awarded w ON w.dataset = f.dataset AND w.ocid = f.ocid
LEFT JOIN risk rp ON rp.dataset = f.dataset AND rp.subject_type = 'process' AND rp.subject_id = f.ocid
LEFT JOIN risk ro ON ro.dataset = f.dataset AND ro.subject_type = f.subject_type AND ro.subject_id = f.subject_id
    AND f.subject_type <> 'process'
LEFT JOIN names n ON n.dataset = f.dataset AND n.party_id = f.subject_id AND f.subject_type <> 'process'
WHERE f.status = 'flagged'
ORDER BY risk DESC NULLS LAST, alert_id DESC
"""

# Per-organisation summaries for profile pages and organisation search, built once at start (the warehouse is
# read-only while the server runs) so that a profile is a handful of index lookups, not scans of every process.
_ORGANISATION_SQL = (
    """CREATE OR REPLACE TABLE idx.organisations AS
       SELECT dataset, party_id, any_value(name) AS name, any_value(identifier_scheme) AS identifier_scheme,
              any_value(identifier_id) AS identifier_id, any_value(locality) AS locality,
              any_value(country_name) AS country_name, list_distinct(flatten(list(roles))) AS roles,
              count(DISTINCT ocid) AS processes
       FROM parties GROUP BY dataset, party_id""",
    """CREATE OR REPLACE TABLE idx.buyer_months AS
       SELECT dataset, buyer_id AS party_id,
              strftime(date_trunc('month', coalesce(tender_period_start, release_date)), '%Y-%m') AS month,
              count(*) AS processes, sum(tender_value_amount) AS value,
              avg(CASE WHEN number_of_tenderers = 1 THEN 1.0 WHEN number_of_tenderers > 1 THEN 0.0 END)
                  AS single_bid_share
       FROM processes WHERE buyer_id IS NOT NULL GROUP BY ALL""",
    # Process pages: the warehouse's string keys defeat DuckDB's zone maps (OCIDs share their first bytes), so a
    # lookup by ocid scans the table; the index keeps what a page needs, indexed by ocid (processes by rowid).
    """CREATE OR REPLACE TABLE idx.process_rows AS
       SELECT row_number() OVER (ORDER BY dataset, ocid) AS pid, dataset, ocid, rowid AS row, title, buyer_id,
              buyer_name, procurement_method, tender_value_amount, tender_value_currency,
              CAST(tender_period_start AS DATE) AS date
       FROM processes ORDER BY pid""",
    # Search: every word of a title and buyer name with the process's number (pid, in ocid order), sorted by word
    # so that a word-prefix lookup reads a few row groups, and the hits' cards are a range of pids.
    """CREATE OR REPLACE TABLE idx.words AS
       SELECT DISTINCT word, pid FROM (
           SELECT pid, unnest(regexp_split_to_array(lower(coalesce(title, '') || ' ' || coalesce(buyer_name, '')),
                                                    '[^[:alnum:]]+')) AS word
           FROM idx.process_rows)
       WHERE word <> '' ORDER BY word, pid""",
    """CREATE OR REPLACE TABLE idx.process_awards AS
       SELECT a.dataset, a.ocid, a.award_position, s.position, a.award_id, a.status, CAST(a.date AS DATE) AS date,
              a.value_amount, a.value_currency, s.supplier_id, s.supplier_name
       FROM awards a LEFT JOIN award_suppliers s USING (dataset, ocid, award_id, award_position)""",
    "CREATE OR REPLACE TABLE idx.process_tenderers AS SELECT dataset, ocid, tenderer_id, tenderer_name FROM tenderers",
    """CREATE OR REPLACE TABLE idx.risk AS
       SELECT r.dataset, r.subject_type, r.subject_id, r.cri, r.weighted_score, r.components, r.flagged, r.rank
       FROM risk_scores r JOIN (SELECT dataset, arg_max(run_id, started_at) AS run_id FROM flag_runs GROUP BY dataset)
           USING (dataset, run_id)""",
    """CREATE OR REPLACE TABLE idx.supplier_months AS
       SELECT s.dataset, s.supplier_id AS party_id, strftime(date_trunc('month', a.date), '%Y-%m') AS month,
              count(DISTINCT a.ocid) AS awards, sum(a.value_amount) AS value
       FROM award_suppliers s JOIN awards a USING (dataset, ocid, award_id, award_position)
       WHERE s.supplier_id IS NOT NULL GROUP BY ALL""",
)
_INDEXES = (
    "CREATE INDEX alerts_id ON idx.alerts (alert_id)",
    "CREATE INDEX alerts_ocid ON idx.alerts (ocid)",
    "CREATE INDEX alerts_buyer ON idx.alerts (buyer_id)",
    "CREATE INDEX alerts_supplier ON idx.alerts (supplier_id)",
    "CREATE INDEX alerts_subject ON idx.alerts (subject_id)",
    "CREATE INDEX organisations_party ON idx.organisations (party_id)",
    "CREATE INDEX buyer_months_party ON idx.buyer_months (party_id)",
    "CREATE INDEX supplier_months_party ON idx.supplier_months (party_id)",
    "CREATE INDEX process_rows_ocid ON idx.process_rows (ocid)",
    "CREATE INDEX process_awards_ocid ON idx.process_awards (ocid)",
    "CREATE INDEX process_tenderers_ocid ON idx.process_tenderers (ocid)",
    "CREATE INDEX risk_subject ON idx.risk (subject_id)",
)
_ALERT_COLUMNS = (
    "alert_id, dataset, run_id, indicator, subject_type, subject_id, ocid, value, threshold, evidence, buyer_id, "
    "buyer_name, supplier_id, supplier_name, amount, date, risk, title, status"
)


@dataclass
class AlertQuery:
    """An inbox view: filters, sort, keyset cursor and page size."""

    indicator: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    dataset: str | None = None
    buyer: str | None = None
    supplier: str | None = None
    risk_min: float | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str | None = None
    sort: str = "risk"
    descending: bool = True
    after: str | None = None  # keyset cursor from the previous page
    limit: int = 50

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.indicator:
            clauses.append(f"indicator IN ({', '.join('?' for _ in self.indicator)})")
            params += self.indicator
        if self.status:
            clauses.append(f"status IN ({', '.join('?' for _ in self.status)})")
            params += self.status
        for column, value in (("dataset", self.dataset), ("buyer_id", self.buyer), ("supplier_id", self.supplier)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        bounds: tuple[tuple[str, Any], ...] = (
            ("risk >= ?", self.risk_min),
            ("amount >= ?", self.amount_min),
            ("amount <= ?", self.amount_max),
            ("date >= ?", self.date_from),
            ("date <= ?", self.date_to),
        )
        for expression, bound in bounds:
            if bound is not None:
                clauses.append(expression)
                params.append(bound)
        if self.q:
            clauses.append("(title ILIKE ? OR buyer_name ILIKE ? OR supplier_name ILIKE ? OR subject_id = ?)")
            like = f"%{self.q}%"
            params += [like, like, like, self.q]
        return (" AND ".join(clauses) or "TRUE"), params


def _filters(query: AlertQuery) -> tuple[Any, ...]:
    """The filter part of an inbox query, hashable (a cache key)."""
    return tuple(
        tuple(value) if isinstance(value, list) else value
        for name, value in sorted(query.__dict__.items())
        if name not in ("after", "limit", "sort", "descending")
    )


def _cursor_encode(value: Any, alert_id: str) -> str:
    return json.dumps([value if not isinstance(value, dt.date) else value.isoformat(), alert_id])


class Warehouse:
    """Read-only access to the warehouse plus the in-memory alert index."""

    def __init__(
        self,
        path: str | Path,
        memory_limit: str = "2GB",
        wait: float = 60.0,
        on_wait: Callable[[WarehouseBusy], None] | None = None,
    ) -> None:
        """Snapshot the warehouse and build the index. If a writer holds the warehouse, wait up to `wait` seconds
        (calling `on_wait` once) for it to finish, then raise `WarehouseBusy`."""
        self.path = str(path)
        if not Path(self.path).exists() or self.path == ":memory:":
            raise FileNotFoundError(f"no warehouse at {self.path}: run the ingest and `flags run` first")
        self.memory_limit = memory_limit
        # Snapshots and the alert index live in a scratch folder, so the index respects the memory limit at any size.
        self._scratch = tempfile.TemporaryDirectory(prefix="clearsight-web-")
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._states: dict[str, str] = {}
        self._citizen_alerts: dict[str, tuple[dict[str, Any], str]] = {}
        self._retired: _Generation | None = None
        self.version = 0
        self._current = self._snapshot(wait, on_wait)
        self.refresh()

    @property
    def _root(self) -> duckdb.DuckDBPyConnection:
        return self._current.root

    # --- snapshots ---------------------------------------------------------------------------------------
    def _snapshot(self, wait: float = 0.0, on_wait: Callable[[WarehouseBusy], None] | None = None) -> _Generation:
        """Copy the warehouse (and its WAL) while holding DuckDB's shared lock, then open the copy."""
        number = (self._current.number + 1) if hasattr(self, "_current") else 1
        scratch = Path(self._scratch.name)
        copy = scratch / f"warehouse-{number}.duckdb"
        holder = connect_waiting(self.path, read_only=True, wait=wait, on_wait=on_wait)
        try:
            signature = file_signature(self.path)
            shutil.copyfile(self.path, copy)
            if os.path.exists(f"{self.path}.wal"):
                shutil.copyfile(f"{self.path}.wal", f"{copy}.wal")
        finally:
            holder.close()
        root = duckdb.connect(":memory:", config={"memory_limit": self.memory_limit})
        files = [copy, Path(f"{copy}.wal"), scratch / f"index-{number}.duckdb", scratch / f"index-{number}.duckdb.wal"]
        try:
            root.execute(f"ATTACH '{str(copy).replace(chr(39), chr(39) * 2)}' AS wh")
            # A warehouse made by an older version, or holding only registries: the copy gets the missing tables.
            root.execute("USE wh")
            for table in ALL_TABLES:
                root.execute(create_table_sql(table))
            root.execute(f"SET temp_directory = '{scratch / 'spill'}'")
            root.execute(f"ATTACH '{files[2]}' AS idx")
        except Exception:
            root.close()
            raise
        return _Generation(number, root, files, signature)

    def changed(self) -> bool:
        """Whether the warehouse was written since the snapshot the server reads."""
        return file_signature(self.path) != self._current.signature

    def reload(self) -> bool:
        """Swap in a fresh snapshot and index when the warehouse changed; False when it had not. Raises
        `WarehouseBusy` while a writer holds the warehouse (the server keeps serving the last snapshot)."""
        with self._reload_lock:
            if not self.changed():
                return False
            started = time.monotonic()
            generation = self._snapshot()
            try:
                self._build_index(generation.root.cursor())
                with self._write_lock:
                    # Alert states and concerns written meanwhile are in the mirror: replay it on the new index.
                    cursor = generation.root.cursor()
                    for alert, status in self._citizen_alerts.values():
                        self._insert_citizen_alert(cursor, alert, status)
                    self._set_states(cursor, list(self._states.items()))
                    retired, self._retired, self._current = self._retired, self._current, generation
                    self.version += 1
            except Exception:
                generation.close()
                raise
            # The generation before the last is closed now; the last stays open for requests still running on it.
            if retired is not None:
                retired.close()
            log.info("warehouse %s changed: reloaded in %.1f s", self.path, time.monotonic() - started)
            return True

    # --- connections -----------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the current snapshot (a new one after a reload)."""
        generation = self._current
        cached = getattr(self._local, "cursor", None)
        if cached is None or cached[0] is not generation:
            cursor = generation.root.cursor()
            cursor.execute("USE wh")
            cursor.execute("SET TimeZone = 'UTC'")
            self._local.cursor = cached = (generation, cursor)
        return cached[1]

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        result = self.cursor().execute(sql, list(params) if params is not None else None)
        names = [column[0] for column in result.description or []]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def value(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.cursor().execute(sql, list(params) if params is not None else None).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._reload_lock:
            for generation in (self._retired, self._current):
                if generation is not None:
                    generation.root.close()
            self._scratch.cleanup()

    # --- the alert index ---------------------------------------------------------------------------------
    def refresh(self, states: Sequence[tuple[str, str]] = ()) -> None:
        """(Re)build the alert index and organisation summaries; apply alert states from the app database."""
        with self._write_lock:
            self._states = dict(states)
            self._citizen_alerts = {}
            cursor = self._root.cursor()
            self._build_index(cursor)
            self._set_states(cursor, states)
            self.version += 1

    @staticmethod
    def _build_index(cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.execute("USE wh")
        cursor.execute(_ALERT_INDEX_SQL)
        for statement in _ORGANISATION_SQL:
            cursor.execute(statement)
        for statement in _INDEXES:
            cursor.execute(statement)

    @staticmethod
    def _set_states(cursor: duckdb.DuckDBPyConnection, states: Sequence[tuple[str, str]]) -> None:
        if states:
            cursor.executemany(
                "UPDATE idx.alerts SET status = ? WHERE alert_id = ?", [[status, alert] for alert, status in states]
            )

    def set_states(self, states: Sequence[tuple[str, str]]) -> None:
        """Mirror alert states written to the app database (the app database is the source of truth)."""
        if not states:
            return
        with self._write_lock:
            self._states.update(states)
            self._set_states(self._root.cursor(), states)
            self.version += 1

    def add_citizen_alert(self, alert: dict[str, Any], status: str = "new") -> None:
        with self._write_lock:
            self._citizen_alerts[alert["id"]] = (alert, status)
            self._insert_citizen_alert(self._root.cursor(), alert, status)
            self.version += 1

    def _insert_citizen_alert(self, cursor: duckdb.DuckDBPyConnection, alert: dict[str, Any], status: str) -> None:
        process = _first(
            cursor.execute(
                "SELECT buyer_id, buyer_name, tender_value_amount, tender_period_start, title FROM wh.processes "
                "WHERE dataset = ? AND ocid = ?",
                [alert["dataset"], alert["ocid"]],
            )
        )
        cursor.execute(
                f"""INSERT INTO idx.alerts ({_ALERT_COLUMNS})
                    VALUES (?, ?, 'citizen', 'CIT', 'process', ?, ?, NULL, NULL, ?, ?, ?, NULL, NULL, ?, ?, NULL,
                            ?, ?)""",
                [
                    alert["id"], alert["dataset"], alert["ocid"], alert["ocid"],
                    json.dumps({"concern": alert["text"], "published": bool(alert.get("published"))}),
                    process.get("buyer_id"), process.get("buyer_name"),
                    process.get("tender_value_amount"),
                    process["tender_period_start"].date() if process.get("tender_period_start") else None,
                    process.get("title"), status,
                ],
            )  # fmt: skip

    def cached(self, key: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
        """A result for this key at the current alert-state version (any triage or new alert invalidates)."""
        full = (self.version, *key)
        with self._cache_lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]  # type: ignore[no-any-return]
        result = compute()
        with self._cache_lock:
            self._cache[full] = result
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return result

    def alert_count(self) -> int:
        return int(self.value("SELECT count(*) FROM idx.alerts"))

    def alerts(self, query: AlertQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the inbox and the cursor of the next page (None on the last page)."""
        key = ("page", _filters(query), query.sort, query.descending, query.after, query.limit)
        rows, following = self.cached(key, lambda: self._alerts(query))
        return [dict(row) for row in rows], following  # copies: callers may add fields

    def _alerts(self, query: AlertQuery) -> tuple[list[dict[str, Any]], str | None]:
        where, params = query.where()
        if query.sort not in SORTS:
            raise ValueError(f"cannot sort by {query.sort!r}")
        column = SORTS[query.sort]
        order = "DESC" if query.descending else "ASC"
        comparison = "<" if query.descending else ">"
        # NULLs sort last either way; the keyset compares (sort key is null, sort key, alert id).
        key = f"({column} IS NULL)"
        if query.after:
            value, last_id = json.loads(query.after)
            if value is None:
                where += f" AND {key} AND alert_id {comparison} ?"
                params.append(last_id)
            else:
                cast = SORT_TYPES.get(query.sort, "VARCHAR")
                where += f" AND ({key} OR ({column}, alert_id) {comparison} (CAST(? AS {cast}), ?))"
                params += [value, last_id]
        rows = self.rows(
            f"""SELECT alert_id, dataset, indicator, subject_type, subject_id, ocid, value, threshold, evidence,
                       buyer_id, buyer_name, supplier_id, supplier_name, amount, date, risk, title, status
                FROM idx.alerts WHERE {where}
                ORDER BY {column} {order} NULLS LAST, alert_id {order} LIMIT ?""",
            [*params, query.limit + 1],
        )
        following = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            last = rows[-1]
            following = _cursor_encode(last[column], last["alert_id"])
        return rows, following

    def facets(self, query: AlertQuery, top: int = 12) -> dict[str, list[tuple[str, str, int]]]:
        """(value, label, count) per facet under the current filters; a facet ignores its own filter."""
        return self.cached(("facets", _filters(query), top), lambda: self._facets(query, top))

    def _facets(self, query: AlertQuery, top: int) -> dict[str, list[tuple[str, str, int]]]:
        result: dict[str, list[tuple[str, str, int]]] = {}
        for facet, (column, label) in FACETS.items():
            narrowed = AlertQuery(
                **{**query.__dict__, "after": None, facet: [] if facet in ("indicator", "status") else None}
            )
            where, params = narrowed.where()
            rows = (
                self.cursor()
                .execute(
                    f"""SELECT {column}, any_value({label}), count(*) AS n FROM idx.alerts
                    WHERE {where} AND {column} IS NOT NULL
                    GROUP BY 1 ORDER BY n DESC, 1 LIMIT {int(top)}""",
                    params,
                )
                .fetchall()
            )
            result[facet] = [(str(value), str(shown), int(count)) for value, shown, count in rows]
        return result

    def total(self, query: AlertQuery) -> int:
        where, params = AlertQuery(**{**query.__dict__, "after": None}).where()
        return self.cached(
            ("total", _filters(query)),
            lambda: int(self.value(f"SELECT count(*) FROM idx.alerts WHERE {where}", params)),
        )

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        rows = self.rows("SELECT * FROM idx.alerts WHERE alert_id = ?", [alert_id])
        if not rows:
            return None
        row = rows[0]
        row["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
        row["explanation"] = explain(row)
        return row

    def related_alerts(self, row: dict[str, Any], limit: int = 20) -> list[dict[str, Any]]:
        """Other alerts on the same process, buyer or supplier (each an index lookup)."""
        parts, params = [], []
        for column in ("ocid", "buyer_id", "supplier_id"):
            if row.get(column) is not None:
                parts.append(
                    f"SELECT alert_id, indicator, subject_type, subject_id, ocid, title, status, risk FROM idx.alerts "
                    f"WHERE {column} = ? AND dataset = ? AND alert_id <> ?"
                )
                params += [row[column], row["dataset"], row["alert_id"]]
        if not parts:
            return []
        return self.rows(
            f"SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)}) ORDER BY risk DESC NULLS LAST, alert_id LIMIT ?",
            [*params, limit],
        )

    # --- processes and organisations ---------------------------------------------------------------------
    def datasets(self) -> list[str]:
        return [row["dataset"] for row in self.rows("SELECT DISTINCT dataset FROM processes ORDER BY 1")]

    def search_processes(self, q: str, limit: int = 50, after: str | None = None) -> list[dict[str, Any]]:
        return self.cached(("search", q, limit, after), lambda: self._search_processes(q, limit, after))

    def _search_processes(self, q: str, limit: int, after: str | None) -> list[dict[str, Any]]:
        """Processes whose title or buyer has words starting with each word of `q` (or whose ocid is `q`), by ocid;
        all processes when `q` is empty. `after` is the last ocid of the previous page."""
        words = re.findall(r"[^\W_]+", q.lower())[:5]
        hits = " INTERSECT ".join("SELECT pid FROM idx.words WHERE word >= ? AND word < ?" for _ in words)
        params: list[Any] = [bound for word in words for bound in (word, word + "\U0010ffff")]
        if not q.strip():
            source = "SELECT pid FROM idx.process_rows"  # no query: browse every process in ocid order
        else:
            source = f"{hits} UNION " if hits else ""
            source += "SELECT pid FROM idx.process_rows WHERE ocid = ?"
            params.append(q)
        start = 0
        if after:
            start = self.value("SELECT pid FROM idx.process_rows WHERE ocid = ? ORDER BY pid LIMIT 1", [after]) or 0
        pids = [
            pid
            for (pid,) in self.cursor()
            .execute(
                f"SELECT pid FROM ({source}) WHERE pid > ? ORDER BY pid LIMIT ?",
                [*params, start, limit],
            )
            .fetchall()
        ]
        if not pids:
            return []
        return self.rows(
            f"""SELECT dataset, ocid, title, buyer_id, buyer_name, procurement_method, tender_value_amount,
                       tender_value_currency, date FROM idx.process_rows
                WHERE pid BETWEEN ? AND ? AND pid IN ({", ".join("?" for _ in pids)}) ORDER BY pid""",
            [pids[0], pids[-1], *pids],
        )

    def search_organisations(self, q: str, limit: int = 50) -> list[dict[str, Any]]:
        like = f"%{q}%"
        return self.rows(
            """SELECT dataset, party_id, name, processes, roles FROM idx.organisations
               WHERE name ILIKE ? OR party_id = ? ORDER BY processes DESC, party_id LIMIT ?""",
            [like, q, limit],
        )

    def process(self, dataset: str, ocid: str) -> dict[str, Any] | None:
        located = self.value("SELECT row FROM idx.process_rows WHERE ocid = ? AND dataset = ?", [ocid, dataset])
        if located is None:
            return None
        rows = self.rows("SELECT * FROM processes WHERE rowid = ?", [located])
        return rows[0] if rows else None

    def process_details(self, dataset: str, ocid: str, public: bool = True) -> dict[str, Any]:
        """Awards, tenderers, flags and risk of a process. `public`: citizens' concerns only when a moderator
        published them (they are sent to the auditors, not to the page)."""
        keys = [ocid, dataset]
        published = "json_extract_string(evidence, '$.published') = 'true'"
        private = f"AND (indicator <> 'CIT' OR {published})" if public else ""
        return {
            "awards": self.rows(
                """SELECT award_id, status, date, value_amount, value_currency, supplier_id, supplier_name
                   FROM idx.process_awards WHERE ocid = ? AND dataset = ? ORDER BY award_position, position""",
                keys,
            ),
            "tenderers": self.rows(
                """SELECT tenderer_id, tenderer_name FROM idx.process_tenderers WHERE ocid = ? AND dataset = ?
                   ORDER BY 1""",
                keys,
            ),
            "flags": [
                {**row, "explanation": explain(row)}
                for row in self.rows(
                    f"""SELECT alert_id, indicator, subject_type, subject_id, value, threshold, evidence, status
                       FROM idx.alerts WHERE ocid = ? AND dataset = ? {private} ORDER BY indicator""",
                    keys,
                )
            ],
            "risk": self.rows(
                """SELECT cri, weighted_score, components, flagged, rank FROM idx.risk
                   WHERE subject_id = ? AND dataset = ? AND subject_type = 'process'""",
                keys,
            ),
        }

    def organisation(self, dataset: str, party_id: str) -> dict[str, Any] | None:
        found = self.cached(("organisation", dataset, party_id), lambda: self._organisation(dataset, party_id))
        return dict(found) if found is not None else None  # a copy: callers may change it

    def _organisation(self, dataset: str, party_id: str) -> dict[str, Any] | None:
        rows = self.rows(
            """SELECT party_id, name, identifier_scheme, identifier_id, locality, country_name, roles, processes
               FROM idx.organisations WHERE party_id = ? AND dataset = ?""",
            [party_id, dataset],
        )
        if not rows:
            return None
        profile = rows[0]
        keys = [party_id, dataset]
        profile["as_buyer"] = self.rows(
            """SELECT month, processes, value, single_bid_share FROM idx.buyer_months
               WHERE party_id = ? AND dataset = ? ORDER BY month""",
            keys,
        )
        profile["as_supplier"] = self.rows(
            "SELECT month, awards, value FROM idx.supplier_months WHERE party_id = ? AND dataset = ? ORDER BY month",
            keys,
        )
        mine = " UNION ".join(
            f"SELECT alert_id, indicator, ocid, title, risk, status FROM idx.alerts WHERE {column} = ? AND dataset = ?"
            for column in ("buyer_id", "supplier_id", "subject_id")
        )
        alerts = self.rows(f"SELECT * FROM ({mine}) ORDER BY risk DESC NULLS LAST, alert_id", keys * 3)
        counts: dict[str, int] = {}
        for alert in alerts:
            counts[alert["indicator"]] = counts.get(alert["indicator"], 0) + 1
        profile["flags"] = [
            {"indicator": code, "alerts": n} for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]
        profile["alerts"] = alerts[:50]
        return profile

    # --- precision, change feed, downloads ---------------------------------------------------------------
    def changes(self, after: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """Runs that changed the published data, oldest first, after a cursor (`finished_at|run_id` of the last)."""
        stamp, run = ([*after.split("|", 1), ""])[:2] if after else ("", "")
        return self.rows(
            """SELECT * FROM (
                   SELECT 'ingest' AS kind, run_id, dataset, CAST(finished_at AS VARCHAR) AS finished_at,
                          processes_written AS changed FROM ingest_runs
                   UNION ALL
                   SELECT 'flags', run_id, dataset, CAST(finished_at AS VARCHAR),
                          (SELECT count(*) FROM flag_results r WHERE r.run_id = f.run_id AND r.status = 'flagged')
                   FROM flag_runs f)
               WHERE finished_at IS NOT NULL AND (finished_at, run_id) > (?, ?) ORDER BY finished_at, run_id LIMIT ?""",
            [stamp, run, limit],
        )

    def export(self, what: str, fmt: str, out: Path, dataset: str | None = None) -> None:
        """Write a download (CSV or Parquet) with DuckDB's COPY: streamed, bounded memory."""
        select = DOWNLOADS[what]
        where = "WHERE dataset = ?" if dataset else ""
        options = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER)"
        query = f"SELECT * FROM ({select}) {where}"
        cursor = self.cursor()
        if fmt == "csv":  # for people: text a spreadsheet would run as a formula is made plain text
            empty = cursor.sql(f"SELECT * FROM ({query}) AS q LIMIT 0", params=[dataset] if dataset else None)
            fields = empty.to_arrow_table().schema
            query = spreadsheet_safe_sql(query, [(field.name, is_text_type(field.type)) for field in fields])
        literal = str(out).replace("'", "''")
        cursor.execute(f"COPY ({query}) TO '{literal}' {options}", [dataset] if dataset else None)

    def releases(self, dataset: str | None, ocid: str | None = None) -> Iterator[str]:
        """The published releases (OCDS JSON) as JSON Lines, streamed in batches."""
        clauses, params = [], []
        if dataset:
            clauses.append("dataset = ?")
            params.append(dataset)
        if ocid:
            clauses.append("ocid = ?")
            params.append(ocid)
        where = " AND ".join(clauses) or "TRUE"
        reader = (
            self._current.root.cursor()
            .execute("USE wh")
            .execute(f"SELECT data FROM source_releases WHERE {where} ORDER BY ocid, release_date", params)
        )
        while batch := reader.fetchmany(2000):
            for (data,) in batch:
                yield data + "\n"


DOWNLOADS = {
    "processes": "SELECT * EXCLUDE (source_file, ingest_run_id) FROM processes",
    "awards": """SELECT a.dataset, a.ocid, a.award_id, a.status, a.date, a.value_amount, a.value_currency,
                        s.supplier_id, s.supplier_name
                 FROM awards a LEFT JOIN award_suppliers s USING (dataset, ocid, award_id, award_position)""",
    "flags": """SELECT f.* FROM flag_results f JOIN (SELECT dataset, arg_max(run_id, started_at) AS run_id
                FROM flag_runs GROUP BY dataset) USING (dataset, run_id)
                WHERE f.subject_type IN ('process', 'buyer', 'procuring_entity', 'tenderer')""",
    "risk": """SELECT r.* FROM risk_scores r JOIN (SELECT dataset, arg_max(run_id, started_at) AS run_id
               FROM flag_runs GROUP BY dataset) USING (dataset, run_id)""",
}


def _first(result: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The first row of a result as a dictionary (empty when there is none)."""
    names = [column[0] for column in result.description or []]
    row = result.fetchone()
    return dict(zip(names, row, strict=True)) if row else {}


def explain(row: dict[str, Any]) -> str:
    """The plain-language sentence of a flagged row (citizen concerns quote the concern)."""
    evidence = row.get("evidence") or {}
    if isinstance(evidence, str):
        evidence = json.loads(evidence)
    if row["indicator"] == "CIT":
        return f"A member of the public reported a concern: “{evidence.get('concern', '')}”"
    return indicator(row["indicator"]).explain(
        row["subject_type"], row["subject_id"], row.get("value"), row.get("threshold"), evidence
    )


def indicator_catalogue() -> list[dict[str, Any]]:
    return [
        {
            "code": item.code,
            "title": item.title,
            "summary": item.summary,
            "subject_types": list(item.subject_types),
            "source": item.source,
        }
        for item in indicators()
    ]
