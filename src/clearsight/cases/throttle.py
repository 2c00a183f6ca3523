"""Atomic throttles with progressive delays (logins, citizens' concerns).

A throttle counts the attempts charged to a key within a window. The first `free` attempts pass at once; after
that each attempt sets a delay before the next one is allowed, doubling from `first_delay` up to `longest_delay`.
An attempt is charged *before* the work it guards (checking a password, storing a concern), so that fifty
concurrent requests cannot all slip through while the first ones are still being checked: the charge is a
compare-and-set on the row's `version`, which one request wins and the others retry on the new value. It works
the same on SQLite (writers take turns) and PostgreSQL (an UPDATE re-reads its WHERE after waiting for a lock).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, literal, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from clearsight.cases.models import Throttle, utcnow

RETRIES = 200  # compare-and-set rounds before giving up (each lost round means another request was charged)


@dataclass(frozen=True)
class Rule:
    free: int  # attempts allowed before any delay
    first_delay: dt.timedelta
    longest_delay: dt.timedelta
    window: dt.timedelta  # the count starts again when the window has passed since its first attempt

    def delay_after(self, count: int) -> dt.timedelta:
        """The wait before the next attempt once `count` attempts are charged."""
        if count < self.free:
            return dt.timedelta(0)
        doublings = min(count - self.free, 30)
        delay: dt.timedelta = min(self.first_delay * (2**doublings), self.longest_delay)
        return delay


class Throttled(Exception):
    def __init__(self, retry_after: dt.timedelta) -> None:
        self.retry_after = retry_after
        super().__init__(f"try again in {describe_wait(retry_after)}")

    @property
    def seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


def describe_wait(wait: dt.timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes


def charge(db: Session, key: str, rule: Rule) -> int:
    """Charge one attempt to `key` and commit; the attempt's number in the window. Raises Throttled (charging
    nothing) while the key must wait. Commits the session: the charge must be visible to concurrent requests
    before the guarded work starts."""
    db.commit()
    for _ in range(RETRIES):
        now = utcnow()
        row = db.execute(
            select(Throttle.version, Throttle.count, Throttle.window_start, Throttle.next_allowed_at).where(
                Throttle.key == key
            )
        ).first()
        db.rollback()  # end the read: the write below starts afresh and is checked by its version
        if row is None:
            try:
                db.add(Throttle(key=key, version=0, count=0, window_start=now, next_allowed_at=now))
                db.commit()
            except IntegrityError:  # another request made it first
                db.rollback()
            continue
        version, count, window_start, next_allowed = row
        if _aware(next_allowed) > now:
            raise Throttled(_aware(next_allowed) - now)
        if now - _aware(window_start) >= rule.window:
            count, window_start = 0, now
        count += 1
        try:
            result: CursorResult[Any] = db.execute(  # type: ignore[assignment]
                update(Throttle)
                .where(Throttle.key == key, Throttle.version == version)
                .values(
                    version=version + 1,
                    count=count,
                    window_start=window_start,
                    next_allowed_at=now + rule.delay_after(count),
                )
            )
            changed = result.rowcount
            db.commit()
        except OperationalError:  # SQLite: another writer held the lock past the timeout
            db.rollback()
            continue
        if changed == 1:
            return count
    raise Throttled(rule.first_delay)


def release(db: Session, key: str, *, forget: bool) -> None:
    """Give back one charged attempt (the guarded work succeeded), or all of them when `forget`; the next attempt
    is allowed at once. Not committed: part of the caller's transaction."""
    remaining = literal(0) if forget else case((Throttle.count > 0, Throttle.count - 1), else_=0)
    db.execute(
        update(Throttle)
        .where(Throttle.key == key)
        .values(version=Throttle.version + 1, count=remaining, next_allowed_at=utcnow())
    )
