"""Alerts → cases → decisions: triage, the case state machine, four-eyes closure, notes, the ledger timeline.

The state machine follows the Ukrainian State Audit Service's monitoring of procurement (draft → active →
addressed → completed; active → declined → closed; stopped; cancelled). Leaving a case in a final state — completed,
closed, stopped, cancelled — is a *closure*: it needs a reason (true positive, false positive, duplicate) and is
only requested by the analyst; it happens when a supervisor other than the case's assignee and other than the
requester approves (four-eyes). Every change is a `case_events` row and an entry of the ledger's `cases` log, and
the reasons of closed cases give per-indicator precision.

Who may do what is decided here, on the server, for every function and object: analysts see and change the
cases they created or are assigned to; supervisors and admins see and change all cases, assign them and approve
closures; nobody approves a closure of a case assigned to themselves.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from clearsight.cases.models import Alert, Case, CaseAlert, CaseEvent, Concern, Note, User, utcnow
from clearsight.ledger.store import Ledger


class AlertIndex(Protocol):
    """Where the alerts come from and where their states are mirrored (the web app's warehouse index)."""

    def alert(self, alert_id: str) -> dict[str, Any] | None: ...

    def refresh(self, states: Sequence[tuple[str, str]] = ()) -> None: ...

    def set_states(self, states: Sequence[tuple[str, str]]) -> None: ...

    def add_citizen_alert(self, alert: dict[str, Any], status: str = "new") -> None: ...


def alert_key(dataset: str, indicator_code: str, subject_type: str, subject_id: str) -> str:
    """An alert's id: stable across flag runs, so a decision on an alert survives re-running the flags.

    The warehouse's alert index computes the same key in SQL (the first 24 hex digits of the MD5 of the four
    parts joined by '|')."""
    text = f"{dataset}|{indicator_code}|{subject_type}|{subject_id}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:24]


TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("active", "cancelled"),
    "active": ("addressed", "declined", "stopped", "cancelled"),
    "addressed": ("completed",),
    "declined": ("closed",),
}
FINAL = ("completed", "closed", "stopped", "cancelled")
CLOSURE_REASONS = ("true_positive", "false_positive", "duplicate")
TRIAGE = ("new", "triaged", "dismissed")
SUPERVISORS = ("supervisor", "admin")


class NotFound(Exception):
    """No such object — or one the user may not see (the same answer, so ids cannot be probed)."""


class Forbidden(Exception):
    pass


class Conflict(Exception):
    """The request is not allowed in the object's current state."""


class Invalid(Exception):
    pass


def usernames(db: Session) -> dict[int, str]:
    """Every user's name by id (one query, for pages that name many users)."""
    return {user_id: name for user_id, name in db.execute(select(User.id, User.username))}


def is_supervisor(user: User) -> bool:
    return user.role in SUPERVISORS


def can_see(user: User, case: Case) -> bool:
    return is_supervisor(user) or user.id in (case.assignee_id, case.created_by_id)


@dataclass
class Workbench:
    warehouse: AlertIndex
    ledger_location: str

    def __post_init__(self) -> None:
        self._ledger_lock = threading.Lock()

    # --- ledger -----------------------------------------------------------------------------------------
    def append_ledger(self, log_name: str, entry: dict[str, Any]) -> int:
        with self._ledger_lock, Ledger(self.ledger_location) as ledger:
            return ledger.log(log_name).append_json([entry], entry_type=entry.get("kind", "json")).start

    def _event(self, db: Session, case: Case, user: User, kind: str, **detail: Any) -> CaseEvent:
        moment = utcnow()
        entry = {"kind": kind, "case": case.id, "user": user.username, "at": moment.isoformat(), **detail}
        event = CaseEvent(
            case_id=case.id, at=moment, user_id=user.id, kind=kind, detail=detail,
            ledger_index=self.append_ledger("cases", entry),
        )  # fmt: skip
        db.add(event)
        case.updated_at = moment
        return event

    # --- alerts ---------------------------------------------------------------------------------------------
    def _alert_row(self, db: Session, alert_id: str) -> Alert:
        row = db.get(Alert, alert_id)
        if row is not None:
            return row
        found = self.warehouse.alert(alert_id)
        if found is None:
            raise NotFound(f"no alert {alert_id}")
        row = Alert(
            id=alert_id, dataset=found["dataset"], indicator=found["indicator"], subject_type=found["subject_type"],
            subject_id=found["subject_id"], ocid=found["ocid"], source="flags", status="new",
            explanation=found["explanation"],
        )  # fmt: skip
        db.add(row)
        return row

    def triage(self, db: Session, user: User, alert_id: str, status: str) -> Alert:
        if status not in TRIAGE:
            raise Invalid(f"status must be one of {', '.join(TRIAGE)}")
        row = self._alert_row(db, alert_id)
        if row.status == "in_case":
            raise Conflict("the alert is in a case: decide it there")
        row.status, row.updated_at, row.updated_by_id = status, utcnow(), user.id
        self.append_ledger("alerts", {"kind": "triage", "alert": alert_id, "status": status, "user": user.username})
        db.commit()
        self.warehouse.set_states([(alert_id, status)])
        return row

    # --- cases ----------------------------------------------------------------------------------------------
    def visible_cases(self, user: User) -> Select[Any]:
        query = select(Case)
        if not is_supervisor(user):
            query = query.where(or_(Case.assignee_id == user.id, Case.created_by_id == user.id))
        return query.order_by(Case.updated_at.desc(), Case.id.desc())

    def case(self, db: Session, user: User, case_id: int) -> Case:
        case = db.get(Case, case_id)
        if case is None or not can_see(user, case):
            raise NotFound(f"no case {case_id}")
        return case

    def create_case(self, db: Session, user: User, title: str, alert_ids: Sequence[str]) -> Case:
        title = title.strip()
        if not title or len(title) > 300:
            raise Invalid("a case needs a title of 1–300 characters")
        if not alert_ids:
            raise Invalid("a case starts from at least one alert")
        # Everything that can refuse the request is checked before anything is written, to the ledger above all:
        # a refused case leaves no "created" entry behind.
        self._alert_rows(db, None, alert_ids)
        case = Case(title=title, status="draft", created_by_id=user.id, assignee_id=user.id)
        db.add(case)
        db.flush()
        self._event(db, case, user, "created", title=title)
        self._attach(db, user, case, alert_ids)
        db.commit()
        return case

    def _alert_rows(self, db: Session, case_id: int | None, alert_ids: Sequence[str]) -> list[tuple[str, Alert]]:
        """The alerts' rows, refusing an unknown alert or one another case holds (two cases holding one alert
        would count it twice in the indicators' precision): add it to that case instead."""
        rows = []
        for alert_id in dict.fromkeys(alert_ids):
            row = self._alert_row(db, alert_id)
            holder = db.scalar(
                select(CaseAlert.case_id).where(CaseAlert.alert_id == alert_id, CaseAlert.case_id != (case_id or -1))
            )
            if holder is not None:
                raise Conflict(f"alert {alert_id} is already in case {holder}: add to that case instead")
            rows.append((alert_id, row))
        return rows

    def _attach(self, db: Session, user: User, case: Case, alert_ids: Sequence[str]) -> None:
        states = []
        for alert_id, row in self._alert_rows(db, case.id, alert_ids):
            if db.get(CaseAlert, (case.id, alert_id)) is not None:
                continue
            db.add(CaseAlert(case_id=case.id, alert_id=alert_id))
            row.status, row.updated_at, row.updated_by_id = "in_case", utcnow(), user.id
            states.append((alert_id, "in_case"))
            self._event(db, case, user, "alert_added", alert=alert_id, indicator=row.indicator)
        db.flush()
        self.warehouse.set_states(states)

    def add_alerts(self, db: Session, user: User, case_id: int, alert_ids: Sequence[str]) -> Case:
        case = self._changeable(db, user, case_id)
        self._attach(db, user, case, alert_ids)
        db.commit()
        return case

    def _changeable(self, db: Session, user: User, case_id: int) -> Case:
        case = self.case(db, user, case_id)
        if case.status in FINAL:
            raise Conflict(f"case {case_id} is {case.status}: it can no longer change")
        return case

    def assign(self, db: Session, user: User, case_id: int, assignee_name: str) -> Case:
        case = self._changeable(db, user, case_id)
        if not is_supervisor(user):
            raise Forbidden("only a supervisor assigns cases")
        if case.pending_status:
            # Four-eyes: the approver may be neither the requester nor the assignee; reassigning a case waiting
            # for approval would let the assignee hand it on and then approve it.
            raise Conflict(f"a closure ({case.pending_status}) is waiting for approval: decide it before reassigning")
        assignee = db.scalar(select(User).where(User.username == assignee_name, User.active))
        if assignee is None:
            raise Invalid(f"no active user {assignee_name!r}")
        case.assignee_id = assignee.id
        self._event(db, case, user, "assigned", assignee=assignee.username)
        db.commit()
        return case

    def add_note(self, db: Session, user: User, case_id: int, text: str) -> Note:
        case = self.case(db, user, case_id)
        text = text.strip()
        if not text or len(text) > 20_000:
            raise Invalid("a note has 1–20,000 characters")
        note = Note(case_id=case.id, user_id=user.id, text=text)
        db.add(note)
        self._event(db, case, user, "note", text=text)
        db.commit()
        return note

    def transition(self, db: Session, user: User, case_id: int, to: str, reason: str | None = None) -> Case:
        """Move a case; a move to a final state becomes a closure request waiting for four-eyes approval."""
        case = self._changeable(db, user, case_id)
        if to not in TRANSITIONS.get(case.status, ()):
            allowed = ", ".join(TRANSITIONS.get(case.status, ())) or "nothing"
            raise Conflict(f"a {case.status} case cannot become {to} (it can become: {allowed})")
        if case.pending_status:
            raise Conflict(f"a closure ({case.pending_status}) is waiting for approval")
        if to in FINAL:
            if reason not in CLOSURE_REASONS:
                raise Invalid(f"closing needs a reason: {', '.join(CLOSURE_REASONS)}")
            case.pending_status, case.pending_reason, case.requested_by_id = to, reason, user.id
            self._event(db, case, user, "closure_requested", to=to, reason=reason)
        else:
            previous, case.status = case.status, to
            self._event(db, case, user, "status", **{"from": previous, "to": to})
        db.commit()
        return case

    def decide_closure(self, db: Session, user: User, case_id: int, approve: bool) -> Case:
        case = self._changeable(db, user, case_id)
        if not is_supervisor(user):
            raise Forbidden("only a supervisor approves a closure")
        if not case.pending_status:
            raise Conflict("no closure is waiting for approval")
        if user.id in (case.assignee_id, case.requested_by_id):
            raise Forbidden("four-eyes: a closure is approved by a supervisor other than the assignee and requester")
        if approve:
            previous, case.status = case.status, case.pending_status
            case.closure_reason, case.approved_by_id = case.pending_reason, user.id
            self._event(
                db, case, user, "closed", **{"from": previous, "to": case.status, "reason": case.closure_reason}
            )
        else:
            self._event(db, case, user, "closure_rejected", to=case.pending_status)
        case.pending_status = case.pending_reason = case.requested_by_id = None
        db.commit()
        return case

    def timeline(self, db: Session, case: Case) -> list[dict[str, Any]]:
        names = usernames(db)
        events = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
        return [
            {"at": e.at, "user": names.get(e.user_id), "kind": e.kind, "detail": e.detail, "ledger": e.ledger_index}
            for e in events
        ]

    def case_alerts(self, db: Session, case: Case) -> list[Alert]:
        query = select(Alert).join(CaseAlert, CaseAlert.alert_id == Alert.id).where(CaseAlert.case_id == case.id)
        return list(db.scalars(query.order_by(Alert.indicator, Alert.id)).all())

    def precision(self, db: Session) -> list[dict[str, Any]]:
        """Per indicator: alerts in cases closed as true or false positives, and the share that were true."""
        rows = db.execute(
            select(Alert.indicator, Case.closure_reason)
            .join(CaseAlert, CaseAlert.alert_id == Alert.id)
            .join(Case, Case.id == CaseAlert.case_id)
            .where(Case.status.in_(FINAL), Case.closure_reason.is_not(None))
        ).all()
        counts: dict[str, dict[str, int]] = {}
        for code, reason in rows:
            if reason in CLOSURE_REASONS:
                counts.setdefault(code, dict.fromkeys(CLOSURE_REASONS, 0))[reason] += 1
        result = []
        for code in sorted(counts):
            tp, fp = counts[code]["true_positive"], counts[code]["false_positive"]
            result.append(
                {
                    "indicator": code,
                    "true_positive": tp,
                    "false_positive": fp,
                    "duplicate": counts[code]["duplicate"],
                    "precision": tp / (tp + fp) if tp + fp else None,
                }
            )
        return result

    # --- citizens' concerns ----------------------------------------------------------------------------------
    def moderate(self, db: Session, user: User, concern_id: int, accept: bool, publish: bool = False) -> Concern:
        """Accept a concern (it becomes an alert for the auditors) or reject it; `publish` (with accept) also shows
        its text on the public process page — concerns are private unless a moderator decides so."""
        if not is_supervisor(user):
            raise Forbidden("only a supervisor moderates concerns")
        concern = db.get(Concern, concern_id)
        if concern is None:
            raise NotFound(f"no concern {concern_id}")
        if concern.status != "pending":
            raise Conflict(f"concern {concern_id} was {concern.status} already")
        if publish and not accept:
            raise Invalid("only an accepted concern can be published")
        concern.status, concern.moderated_by_id = ("accepted" if accept else "rejected"), user.id
        concern.published = publish
        if accept:
            alert_id = alert_key(concern.dataset, "CIT", "concern", str(concern.id))
            alert = Alert(
                id=alert_id, dataset=concern.dataset, indicator="CIT", subject_type="process", subject_id=concern.ocid,
                ocid=concern.ocid, source="citizen", status="new", explanation=concern.text,
            )  # fmt: skip
            db.add(alert)
            concern.alert_id = alert_id
            self.warehouse.add_citizen_alert(
                {"id": alert_id, "dataset": concern.dataset, "ocid": concern.ocid, "text": concern.text,
                 "published": publish}
            )  # fmt: skip
        self.append_ledger(
            "alerts",
            {"kind": "concern", "concern": concern.id, "status": concern.status, "published": publish,
             "user": user.username},
        )  # fmt: skip
        db.commit()
        return concern

    def restore(self, db: Session) -> None:
        """Load alert states and accepted concerns from the app database into the warehouse's alert index."""
        states = [(row.id, row.status) for row in db.scalars(select(Alert).where(Alert.status != "new"))]
        self.warehouse.refresh(states)
        for concern in db.scalars(select(Concern).where(Concern.status == "accepted")):
            alert = db.get(Alert, concern.alert_id)
            self.warehouse.add_citizen_alert(
                {
                    "id": concern.alert_id,
                    "dataset": concern.dataset,
                    "ocid": concern.ocid,
                    "text": concern.text,
                    "published": concern.published,
                },
                status=alert.status if alert else "new",
            )
