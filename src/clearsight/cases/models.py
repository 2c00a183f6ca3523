"""App state in SQLAlchemy 2: users, sessions, tokens, alerts acted on, cases, notes, concerns, security events.

The schema is created and upgraded by Alembic (`clearsight/web/migrations`); `migrate()` runs it to head. The
models here and the migrations must agree — a test compares them.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_APP_DB = "clearsight-app.sqlite"

ROLES = ("analyst", "supervisor", "admin")  # "public" is the anonymous visitor, never a stored role


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # None: made before tokens expired
    scope: Mapped[str] = mapped_column(String(10), default="full")  # "full" (the user's role) or "read"


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class Throttle(Base):
    """How many attempts a key (an account at an address, an address, a concern's sender) made in its window, and
    when the next is allowed. Changed only by compare-and-set on `version`, so concurrent requests cannot overrun
    it (see `clearsight.cases.throttle`)."""

    __tablename__ = "throttles"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column()
    next_allowed_at: Mapped[dt.datetime] = mapped_column()


class SecurityEvent(Base):
    __tablename__ = "security_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    username: Mapped[str | None] = mapped_column(String(80), default=None)
    client: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Alert(Base):
    """An alert someone acted on (triaged, put in a case) or a citizen's accepted concern.

    Flagged indicator results are alerts from the moment `flags run` writes them; they are read from the warehouse
    and get a row here only when their state changes.
    """

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200))
    indicator: Mapped[str] = mapped_column(String(10), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(400))
    ocid: Mapped[str | None] = mapped_column(String(400), default=None)
    source: Mapped[str] = mapped_column(String(20), default="flags")  # flags or citizen
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    explanation: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A closing transition waits here for a supervisor's approval (four-eyes).
    pending_status: Mapped[str | None] = mapped_column(String(20), default=None)
    pending_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    closure_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class CaseAlert(Base):
    __tablename__ = "case_alerts"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), primary_key=True, index=True)


class CaseEvent(Base):
    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ledger_index: Mapped[int | None] = mapped_column(Integer, default=None)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class Concern(Base):
    """A citizen's report about a process: pending until a supervisor accepts (→ an alert) or rejects it."""

    __tablename__ = "concerns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200))
    ocid: Mapped[str] = mapped_column(String(400), index=True)
    text: Mapped[str] = mapped_column(Text)
    client: Mapped[str] = mapped_column(String(64), index=True)  # a keyed hash of the address, not the address
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"), default=None)
    # Concerns are for the auditors; the public sees one only when a moderator publishes it explicitly.
    published: Mapped[bool] = mapped_column(default=False)


def database_url(location: str) -> str:
    """A SQLAlchemy URL: postgresql:// URLs use psycopg 3; anything else that is not a URL is a SQLite file."""
    if location.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + location.split("://", 1)[1]
    if "://" in location:
        return location
    return f"sqlite:///{location}"


def make_engine(location: str) -> Engine:
    url = database_url(location)
    if url.startswith("sqlite"):
        # As many connections as server threads may want at once (the default pool of 15 ran dry under 20 users).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=40
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)


def migrate(engine: Engine) -> None:
    """Create or upgrade the app database to the newest schema with Alembic."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_app_db(location: str) -> tuple[Engine, sessionmaker]:  # type: ignore[type-arg]
    if "://" not in location and location != ":memory:":
        _private_files(location)
    engine = make_engine(location)
    migrate(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


def _private_files(path: str) -> None:
    """The SQLite file (password hashes, sessions) and its journal readable by its owner only: made so before
    SQLite writes anything, and set so on files an older version left readable by all."""
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        if os.path.exists(name):
            os.chmod(name, 0o600)
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
