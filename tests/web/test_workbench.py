"""Alerts → cases → decisions through the real app and app database (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clearsight.cases.models import Base, make_engine, migrate
from clearsight.ledger.store import Ledger
from tests.web.conftest import WebApp, alert_ids, make_web_app


def test_migrations_build_exactly_the_models(app_db_url: str) -> None:
    engine = make_engine(app_db_url)
    migrate(engine)
    migrate(engine)  # upgrading an up-to-date database changes nothing
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


@pytest.mark.reliability(
    "attack",
    "a supervisor approving a closure they requested, or reassigning it to approve it",
    "refused: four eyes; every step in the cases ledger",
)
def test_case_lifecycle_with_four_eyes_and_ledger(web_any_db: WebApp) -> None:
    web = web_any_db
    ann, sue, sam = web.api("ann"), web.api("sue"), web.api("sam")
    ids = alert_ids(web, 3)
    created = ann.post("/api/v1/cases", json={"title": "Direct awards", "alert_ids": ids[:2]})
    assert created.status_code == 201, created.text
    case = created.json()
    assert (case["status"], case["assignee"], case["created_by"]) == ("draft", "ann", "ann")
    number = case["id"]

    # Merge a third alert; alerts in a case leave the "new" inbox.
    assert ann.post(f"/api/v1/cases/{number}/alerts", json={"alert_ids": ids[2:]}).status_code == 200
    in_case = ann.get("/api/v1/alerts", params={"status": "in_case", "limit": 500}).json()
    assert sorted(row["alert_id"] for row in in_case["alerts"]) == sorted(ids)

    def move(client, to: str, reason: str | None = None) -> int:  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/cases/{number}/transition", json={"to": to, "reason": reason}).status_code

    assert move(ann, "completed", "true_positive") == 409  # draft cannot jump to completed
    assert move(ann, "active") == 200
    assert move(ann, "addressed") == 200
    assert move(ann, "completed") == 422  # closing needs a reason
    assert move(ann, "completed", "true_positive") == 200
    assert ann.get(f"/api/v1/cases/{number}").json()["status"] == "addressed"  # waiting for approval
    assert move(ann, "completed", "true_positive") == 409  # a closure is already waiting

    # Four-eyes: not the analyst, not a supervisor who is the assignee; another supervisor may. A case waiting for
    # approval cannot be reassigned (an assignee could hand it on and then approve it).
    assert ann.post(f"/api/v1/cases/{number}/approval", json={"approve": True}).status_code == 403
    assert sue.post(f"/api/v1/cases/{number}/assign", json={"assignee": "sue"}).status_code == 409
    assert sam.post(f"/api/v1/cases/{number}/approval", json={"approve": False}).status_code == 200
    assert sue.get(f"/api/v1/cases/{number}").json()["pending_status"] is None  # rejected: ask again
    assert sue.post(f"/api/v1/cases/{number}/assign", json={"assignee": "sue"}).status_code == 200
    assert move(sue, "completed", "true_positive") == 200
    assert sue.post(f"/api/v1/cases/{number}/approval", json={"approve": True}).status_code == 403
    assert sue.post(f"/api/v1/cases/{number}/assign", json={"assignee": "ann"}).status_code == 409
    assert sam.post(f"/api/v1/cases/{number}/approval", json={"approve": True}).status_code == 200
    final = sam.get(f"/api/v1/cases/{number}").json()
    assert (final["status"], final["closure_reason"]) == ("completed", "true_positive")

    # A closed case no longer changes.
    assert sam.post(f"/api/v1/cases/{number}/notes", json={"text": "late"}).status_code == 201  # notes may be added
    assert move(sam, "active") == 409
    assert sam.post(f"/api/v1/cases/{number}/alerts", json={"alert_ids": ids[:1]}).status_code == 409

    # Every change is in the timeline, each with its own ledger entry, and the ledger verifies.
    timeline = final["timeline"]
    kinds = [event["kind"] for event in timeline]
    assert kinds == [
        "created", "alert_added", "alert_added", "alert_added", "status", "status", "closure_requested",
        "closure_rejected", "assigned", "closure_requested", "closed",
    ]  # fmt: skip
    indices = [event["ledger"] for event in timeline]
    assert len(set(indices)) == len(indices)
    with Ledger(web.settings.ledger) as ledger:
        log = ledger.log("cases", create=False)
        assert log.size() == len(indices) + 1  # and the late note
        assert log.verify().ok


def test_precision_per_indicator_from_closure_reasons(web: WebApp) -> None:
    ann, sue = web.api("ann"), web.api("sue")
    ids = alert_ids(web, 3, indicator="C001")
    assert len(ids) == 3
    for alert, reason in zip(ids, ("true_positive", "true_positive", "false_positive"), strict=True):
        number = ann.post("/api/v1/cases", json={"title": alert, "alert_ids": [alert]}).json()["id"]
        for to in ("active", "addressed"):
            ann.post(f"/api/v1/cases/{number}/transition", json={"to": to})
        ann.post(f"/api/v1/cases/{number}/transition", json={"to": "completed", "reason": reason})
        assert sue.post(f"/api/v1/cases/{number}/approval", json={"approve": True}).status_code == 200
    stats = {row["indicator"]: row for row in ann.get("/api/v1/stats/precision").json()}
    assert stats["C001"]["true_positive"] == 2
    assert stats["C001"]["false_positive"] == 1
    assert abs(stats["C001"]["precision"] - 2 / 3) < 1e-9


def test_triage_is_kept_and_survives_a_restart(web: WebApp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ann = web.api("ann")
    first, second = alert_ids(web, 2)
    assert ann.post(f"/api/v1/alerts/{first}/triage", json={"status": "dismissed"}).status_code == 200
    ann.post("/api/v1/cases", json={"title": "kept", "alert_ids": [second]})
    restarted = WebApp(
        app=__import__("clearsight.web.app", fromlist=["create_app"]).create_app(web.settings),
        settings=web.settings,
        tokens=web.tokens,
    )
    states = {alert: restarted.api("ann").get(f"/api/v1/alerts/{alert}").json()["status"] for alert in (first, second)}
    assert states == {first: "dismissed", second: "in_case"}
    # Triage cannot take an alert out of its case.
    assert ann.post(f"/api/v1/alerts/{second}/triage", json={"status": "new"}).status_code == 409


def test_inbox_pages_cover_every_alert_once_in_order(web: WebApp) -> None:
    ann = web.api("ann")
    for sort in ("amount", "risk", "date", "buyer"):
        for order in ("asc", "desc"):
            seen: list[dict] = []
            cursor = None
            while True:
                params = {"sort": sort, "order": order, "limit": 97, "indicator": ["C001", "R058", "N003"]}
                if cursor:
                    params["after"] = cursor
                page = ann.get("/api/v1/alerts", params=params).json()
                seen += page["alerts"]
                cursor = page["next"]
                if cursor is None:
                    break
            assert len(seen) == page["total"] > 97
            assert len({row["alert_id"] for row in seen}) == len(seen)
            key = {"buyer": "buyer_name"}.get(sort, sort)
            values = [row[key] for row in seen if row[key] is not None]
            assert values == sorted(values, reverse=order == "desc")
            nulls = [row[key] is None for row in seen]
            assert nulls == sorted(nulls)  # missing values come last
            assert {row["indicator"] for row in seen} <= {"C001", "R058", "N003"}


def test_inbox_filters_and_facets_agree(web: WebApp) -> None:
    ann = web.api("ann")
    everything = ann.get("/api/v1/alerts", params={"facets": True, "limit": 1}).json()
    facets = everything["facets"]
    top_indicator, _, count = facets["indicator"][0]
    filtered = ann.get("/api/v1/alerts", params={"indicator": top_indicator, "limit": 500, "facets": True}).json()
    assert filtered["total"] == count
    assert all(row["indicator"] == top_indicator for row in filtered["alerts"])
    # A facet ignores its own filter (other indicators stay visible), others narrow.
    assert filtered["facets"]["indicator"] == facets["indicator"]
    assert sum(n for _, _, n in filtered["facets"]["status"]) == count
    buyer, _, buyer_count = facets["buyer"][0]
    by_buyer = ann.get("/api/v1/alerts", params={"buyer": buyer, "limit": 500}).json()
    assert by_buyer["total"] == buyer_count
    assert {row["buyer_id"] for row in by_buyer["alerts"]} == {buyer}
    risky = ann.get("/api/v1/alerts", params={"risk_min": 0.3, "amount_min": 50000, "limit": 500}).json()
    assert all(row["risk"] >= 0.3 and row["amount"] >= 50000 for row in risky["alerts"])
    dated = ann.get("/api/v1/alerts", params={"date_from": "2024-01-01", "date_to": "2024-06-30", "limit": 500}).json()
    assert dated["alerts"] and all("2024-01-01" <= row["date"] <= "2024-06-30" for row in dated["alerts"])


def test_alert_page_explains_and_links_related(web: WebApp) -> None:
    ann = web.api("ann")
    alert = ann.get("/api/v1/alerts", params={"indicator": "C001", "limit": 1}).json()["alerts"][0]
    detail = ann.get(f"/api/v1/alerts/{alert['alert_id']}").json()
    assert detail["explanation"] and "direct" in detail["explanation"]
    assert (
        all(other["ocid"] == detail["ocid"] or other["alert_id"] for other in detail["related"]) and detail["related"]
    )
    page = web.client("ann").get(f"/alerts/{alert['alert_id']}")
    assert detail["explanation"] in page.text
    assert f"/processes/syn/{detail['ocid']}" in page.text


def test_open_case_from_inbox_forms(web: WebApp) -> None:
    browser = web.client("ann")
    inbox = browser.get("/inbox", params={"indicator": "C001"})
    token = __import__("tests.web.conftest", fromlist=["csrf_of"]).csrf_of(inbox.text)
    ids = alert_ids(web, 2, indicator="C001")
    made = browser.post("/cases", data={"title": "From the inbox", "alert_ids": ids, "csrf_token": token})
    assert made.status_code == 200 and "/cases/" in str(made.url)
    assert "From the inbox" in made.text and made.text.count('href="/alerts/') == 2


def test_a_fresh_app_db_on_postgresql_or_sqlite_serves_pages(web_warehouse: str, app_db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = make_web_app(web_warehouse, app_db_url, tmp_path)
    assert made.client("sue").get("/cases").status_code == 200


def test_alert_ids_are_the_same_in_sql_and_python(web: WebApp) -> None:
    from clearsight.cases.workflow import alert_key

    rows = web.api("ann").get("/api/v1/alerts", params={"limit": 20}).json()["alerts"]
    assert rows
    for row in rows:
        assert alert_key(row["dataset"], row["indicator"], row["subject_type"], row["subject_id"]) == row["alert_id"]
