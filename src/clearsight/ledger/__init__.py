"""Tamper-evident logs: RFC 9162 Merkle trees, C2SP signed checkpoints and cosignatures, SQLite storage."""

# Here rather than in `store` so that the command line can name it without loading the store.
DEFAULT_LEDGER = "clearsight-ledger.sqlite"
