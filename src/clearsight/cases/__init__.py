"""Alerts acted on, cases and their state machine, decisions, users and roles — the app state of the workbench.

SQLAlchemy 2 models (`models`, migrated by Alembic: `migrations/`), accounts and security (`security`) and the
case workflow (`workflow`). This room imports only the ledger (every decision is appended to it); the web app
gives it the warehouse's alerts through the `AlertIndex` protocol.
"""
