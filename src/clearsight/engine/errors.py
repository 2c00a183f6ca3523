"""The engine's exception types (imported by the CLI at start-up, so this module imports nothing heavy)."""

from __future__ import annotations


class EngineError(Exception):
    """An engine failed to run a statement; carries the SQL that failed."""

    def __init__(self, message: str, sql: str) -> None:
        super().__init__(f"{message}\n--- failing SQL ---\n{sql.strip()}")
        self.sql = sql
        self.engine_message = message


class WarehouseBusy(EngineError):
    """Another process holds the warehouse file (DuckDB allows one writer, or any number of readers)."""

    def __init__(self, path: str, holder: str, *, read_only: bool) -> None:
        self.path = path
        self.holder = holder
        self.read_only = read_only
        action = "read" if read_only else "write"
        message = f"cannot {action} the warehouse {path}: it is in use by {holder}"
        Exception.__init__(self, message)
        self.sql = ""
        self.engine_message = message
