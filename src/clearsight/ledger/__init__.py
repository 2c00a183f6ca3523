"""Tamper-evident logs: RFC 9162 Merkle trees, C2SP signed checkpoints and cosignatures, SQLite storage."""
