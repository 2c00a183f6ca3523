"""Accounts and security: argon2 passwords, server-side sessions, API tokens, CSRF, rate limits, events.

- Passwords: argon2id (argon2-cffi defaults), rehashed on login when the parameters change.
- Sessions: a random 256-bit secret in an HttpOnly, Secure, SameSite=Lax cookie; the database stores only its
  SHA-256, so a leaked database does not hand out sessions. Expire after `SESSION_HOURS`.
- API tokens: random, shown once, stored as SHA-256; sent as `Authorization: Bearer …`.
- CSRF: synchroniser token. Each session (or, before login, each visitor's anonymous cookie) has a token the
  server renders into forms; every state-changing request that relies on a cookie must send it back (form field
  `csrf_token` or header `X-CSRF-Token`). Requests authenticated by a bearer token carry no ambient authority and
  need none.
- API tokens expire (`TOKEN_DAYS` by default) and have a scope: "full" (the user's role) or "read" (GET only).
- Changing a password or deactivating a user ends the user's sessions and revokes the user's tokens.
- Login throttling (`clearsight.cases.throttle`): attempts are charged before the password is checked, atomically,
  to the account *at the client's address* (5 free, then waits doubling from 30 s to 15 min) and to the address
  (20 free, then the same). An attacker elsewhere cannot lock an account out: its owner logs in from their own
  address. A success gives the charge back. Behind a reverse proxy the client's address is the one the configured
  trusted proxies forwarded (`serve --trusted-proxy`). Citizen concerns are throttled per client the same way.
- Security events (logins, failures, lockouts, denied access, CSRF failures, token use) go to `security_events`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import itertools
import logging
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from clearsight.cases import throttle
from clearsight.cases.models import ROLES, ApiToken, LoginAttempt, SecurityEvent, User, WebSession, utcnow

log = logging.getLogger("clearsight.security")

SESSION_HOURS = 12
TOKEN_DAYS = 90
TOKEN_SCOPES = ("full", "read")
MIN_PASSWORD = 12
# An account tried from one address, and one address trying any accounts: free attempts, then doubling waits.
ACCOUNT_AT_ADDRESS = throttle.Rule(
    free=5, first_delay=dt.timedelta(seconds=30), longest_delay=dt.timedelta(minutes=15), window=dt.timedelta(days=1)
)
ADDRESS = throttle.Rule(
    free=20, first_delay=dt.timedelta(seconds=30), longest_delay=dt.timedelta(minutes=15), window=dt.timedelta(days=1)
)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (same time as a real check); made on first use,
    not at import, where it cost every command a second."""
    return _hasher.hash("not a real password, only for timing")


class SecurityError(Exception):
    """Refused: bad credentials, locked out, or not allowed."""


class RateLimited(SecurityError):
    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, for the Retry-After header


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def client_key(secret: bytes, address: str | None) -> str:
    """A keyed hash of the client's address: rate limits and logs without storing addresses."""
    return hmac.new(secret, (address or "unknown").encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(secret: bytes, holder: str) -> str:
    """The token for a session or anonymous visitor id (HMAC, so it need not be stored for visitors)."""
    return hmac.new(secret, b"csrf|" + holder.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, holder: str | None, sent: str | None) -> bool:
    return bool(holder and sent) and hmac.compare_digest(csrf_token(secret, holder or ""), sent or "")


def record_event(db: Session, kind: str, username: str | None, client: str | None, **detail: object) -> None:
    db.add(SecurityEvent(kind=kind, username=username, client=client, detail=detail))
    log.info("security event %s user=%s client=%s %s", kind, username, client, detail)


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("clearsight.cases").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak (None when it is not): shorter than MIN_PASSWORD, one of the commonly chosen
    passwords (with digits or symbols around it, or repeated), the user name, or a run of one character or of
    consecutive characters ("aaaaaaaaaaaa", "123456789012", "abcdefghijkl")."""
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    lowered = password.lower()
    core = lowered.strip("0123456789!@#$%^&*()_+-=.,;:?/\\|~`'\" ")
    for size in range(1, len(core) // 2 + 1):  # "qwertyqwerty" is "qwerty" twice
        if len(core) % size == 0 and core[:size] * (len(core) // size) == core:
            core = core[:size]
            break
    if not core or core in _common_passwords():
        return "this password is among the most commonly chosen: choose another (a few unrelated words work well)"
    if username and username.lower() in lowered:
        return "the password must not contain the user name"
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lowered)}
    if steps <= {0} or steps == {1} or steps == {-1}:
        return "the password must not be one character repeated or a run of consecutive characters"
    return None


def set_password(user: User, password: str) -> None:
    """Hash a new password (checked against the policy); see `change_password` to replace a user's password."""
    problem = password_problem(password, user.username or "")
    if problem:
        raise SecurityError(problem)
    user.password_hash = _hasher.hash(password)


def end_access(db: Session, user: User) -> tuple[int, int]:
    """End every session of the user and revoke every token: (sessions ended, tokens revoked)."""
    sessions: CursorResult[Any] = db.execute(delete(WebSession).where(WebSession.user_id == user.id))  # type: ignore[assignment]
    tokens: CursorResult[Any] = db.execute(  # type: ignore[assignment]
        update(ApiToken).where(ApiToken.user_id == user.id, ~ApiToken.revoked).values(revoked=True)
    )
    return int(sessions.rowcount or 0), int(tokens.rowcount or 0)


def change_password(db: Session, user: User, password: str, by: str | None = None) -> tuple[int, int]:
    """Set a new password; the user's sessions end and tokens are revoked (whoever held them must log in again)."""
    set_password(user, password)
    ended = end_access(db, user)
    record_event(db, "password_changed", user.username, None, by=by, sessions_ended=ended[0], tokens_revoked=ended[1])
    return ended


def set_active(db: Session, user: User, active: bool, by: str | None = None) -> tuple[int, int]:
    """Deactivate (sessions end, tokens revoked) or reactivate a user; their cases and history stay."""
    user.active = active
    ended = end_access(db, user) if not active else (0, 0)
    record_event(db, "user_deactivated" if not active else "user_reactivated", user.username, None, by=by)
    return ended


def add_user(db: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise SecurityError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if not username or len(username) > 80 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise SecurityError("a user name is 1–80 letters, digits, '.', '-' or '_'")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise SecurityError(f"user {username!r} exists already")
    user = User(username=username, password_hash="", role=role, active=True)
    set_password(user, password)
    db.add(user)
    db.flush()
    record_event(db, "user_added", username, None, role=role)
    return user


def _throttle_keys(username: str, client: str) -> tuple[str, str]:
    return f"login|{client}|{username.lower()[:80]}", f"login-address|{client}"


def authenticate(db: Session, username: str, password: str, client: str) -> User:
    """The user for these credentials; raises RateLimited while the account must wait at this address (or the
    address must wait), SecurityError when wrong. `client` is the keyed hash of the client's address."""
    pair, address = _throttle_keys(username, client)
    try:
        throttle.charge(db, pair, ACCOUNT_AT_ADDRESS)
        throttle.charge(db, address, ADDRESS)
    except throttle.Throttled as wait:
        record_event(db, "login_locked", username[:80], client, retry_after=wait.seconds)
        db.commit()
        raise RateLimited(f"too many failed attempts: {wait}", retry_after=wait.seconds) from None
    user = db.scalar(select(User).where(User.username == username))
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _dummy_hash(), password) and user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    db.add(LoginAttempt(username=username[:80], client=client, success=ok))
    if not ok or user is None:
        record_event(db, "login_failed", username[:80], client)
        db.commit()
        raise SecurityError("wrong user name or password")
    throttle.release(db, pair, forget=True)
    throttle.release(db, address, forget=False)
    if _hasher.check_needs_rehash(user.password_hash):
        set_password(user, password)
    record_event(db, "login", username, client)
    return user


@dataclass(frozen=True)
class NewSession:
    cookie: str
    row: WebSession


def start_session(db: Session, user: User) -> NewSession:
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        id=sha256(cookie),
        user_id=user.id,
        csrf_token=secrets.token_hex(32),
        expires_at=utcnow() + dt.timedelta(hours=SESSION_HOURS),
    )
    db.add(row)
    return NewSession(cookie, row)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes


def session_user(db: Session, cookie: str | None) -> tuple[User, WebSession] | None:
    if not cookie:
        return None
    row = db.get(WebSession, sha256(cookie))
    if row is None or _aware(row.expires_at) <= utcnow():
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(db: Session, cookie: str | None) -> None:
    if cookie:
        row = db.get(WebSession, sha256(cookie))
        if row is not None:
            db.delete(row)


def new_api_token(db: Session, user: User, name: str, days: float | None = TOKEN_DAYS, scope: str = "full") -> str:
    """A new token for the user (shown once): expires after `days` (None: never), scope "full" or "read"."""
    if scope not in TOKEN_SCOPES:
        raise SecurityError(f"unknown token scope {scope!r}: one of {', '.join(TOKEN_SCOPES)}")
    if days is not None and not 0 < days <= 3660:
        raise SecurityError("a token lasts between a moment and ten years (--days)")
    if not user.active:
        raise SecurityError(f"user {user.username!r} is deactivated")
    token = "cst_" + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=days) if days is not None else None
    db.add(ApiToken(user_id=user.id, name=name, token_hash=sha256(token), expires_at=expires, scope=scope))
    record_event(db, "token_created", user.username, None, name=name, scope=scope, expires=str(expires))
    return token


def token_access(db: Session, token: str) -> tuple[User, ApiToken] | None:
    """The user and token row for a bearer token, unless it is unknown, revoked, expired or its user inactive."""
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(token), ~ApiToken.revoked))
    if row is None or (row.expires_at is not None and _aware(row.expires_at) <= utcnow()):
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    return user, row


def token_user(db: Session, token: str) -> User | None:
    found = token_access(db, token)
    return found[0] if found else None
