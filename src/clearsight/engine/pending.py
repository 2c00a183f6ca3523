"""Ledger writes owed by the warehouse: the warehouse and the ledger are two stores, so a command that writes both
first records in the warehouse, in the same transaction as its data, what the ledger must receive; appends it; then
clears the record. A run killed in between leaves the record, and the next command that writes that log appends
what is missing first (the ledger's `Log.append_missing` leaves out what already reached it), so that every
warehouse write reaches the ledger exactly once, in order.

A row of `ledger_pending` is either one entry (`entry`), or "the registry versions of run `run_id`" (entry NULL),
or "the BODS statements stored by run `run_id`" (entry NULL, entry type `bods_statements`), which the warehouse's
own rows give back in the order they were stored. Engines without DELETE (Spark) keep no
such rows: there a crash between the two writes can still leave the ledger short, as it always could.
"""

from __future__ import annotations

from dataclasses import dataclass

from clearsight.engine.base import Backend

TABLE = "ledger_pending"


@dataclass(frozen=True)
class Owed:
    log: str
    entry_type: str
    run_id: str
    entry: str | None


def supported(backend: Backend) -> bool:
    return backend.dialect.deletes and backend.dialect.transactions


def ensure(backend: Backend) -> None:
    if supported(backend):
        backend.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (log VARCHAR, entry_type VARCHAR, run_id VARCHAR, entry VARCHAR)"
        )


def owe(backend: Backend, log: str, entry_type: str, run_id: str, entry: str | None = None) -> None:
    """Record that `log` is owed an entry (or, with none, the registry versions of `run_id`)."""
    if supported(backend):
        ensure(backend)
        backend.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", [log, entry_type, run_id, entry])


def owed(backend: Backend, log: str) -> list[Owed]:
    if not supported(backend) or not backend.has_table(TABLE):
        return []
    rows = backend.query(f"SELECT log, entry_type, run_id, entry FROM {TABLE} WHERE log = ? ORDER BY run_id", [log])
    return [Owed(*row) for row in rows]


def paid(backend: Backend, log: str, run_id: str) -> None:
    if supported(backend) and backend.has_table(TABLE):
        backend.execute(f"DELETE FROM {TABLE} WHERE log = ? AND run_id = ?", [log, run_id])


def entries(backend: Backend, item: Owed) -> list[bytes]:
    """The entries a pending row stands for."""
    if item.entry is not None:
        return [item.entry.encode()]
    if item.entry_type == "bods_statements":
        rows = backend.query(
            "SELECT statement FROM ownership_statements WHERE run_id = ? ORDER BY load_order", [item.run_id]
        )
        return [text.encode() for (text,) in rows]
    rows = backend.query("SELECT canonical FROM registry_records WHERE run_id = ? ORDER BY source_line", [item.run_id])
    return [text.encode() for (text,) in rows]
