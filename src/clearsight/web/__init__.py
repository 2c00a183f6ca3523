"""The web application: auditors' workbench (alerts → cases → decisions), public portal and JSON API.

App state (users, sessions, alerts acted on, cases, notes, concerns) lives in a SQLAlchemy database (SQLite by
default, PostgreSQL supported) migrated by Alembic; analytics are read from the DuckDB warehouse, never copied.
"""
