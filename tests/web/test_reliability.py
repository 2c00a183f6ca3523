"""Issue #15 findings in the web app: a refused request leaves no trace in the ledger, one alert sits in one case,
a malformed cursor is the client's error, and an unexpected error still carries the security headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearsight.ledger.store import Ledger
from tests.web.conftest import WebApp, alert_ids


def _ledger_entries(web: WebApp, log: str) -> list[dict]:
    with Ledger(web.settings.ledger) as ledger:
        if log not in ledger.logs():
            return []
        opened = ledger.log(log, create=False)
        return [json.loads(opened.entry(index)) for index in range(opened.size())]


@pytest.mark.reliability(
    "attack",
    "a case opened on an unknown alert",
    "refused with no ledger entry and no case number used",
)
def test_a_refused_case_leaves_no_ledger_entry_and_no_case_number(web: WebApp) -> None:
    ann = web.api("ann")
    before = _ledger_entries(web, "cases")
    refused = ann.post("/api/v1/cases", json={"title": "Ghost", "alert_ids": ["no-such-alert"]})
    assert refused.status_code == 404
    assert _ledger_entries(web, "cases") == before
    ids = alert_ids(web, 1)
    created = ann.post("/api/v1/cases", json={"title": "Real", "alert_ids": ids})
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    entries = _ledger_entries(web, "cases")[len(before) :]
    assert [(entry["kind"], entry["case"]) for entry in entries] == [("created", number), ("alert_added", number)]
    assert [entry["case"] for entry in _ledger_entries(web, "cases") if entry["kind"] == "created"].count(number) == 1


@pytest.mark.reliability(
    "attack",
    "an alert already in one case put in a new case",
    "refused: an alert is in one case at most",
)
def test_an_alert_in_one_case_cannot_join_another(web: WebApp) -> None:
    ann, bob = web.api("ann"), web.api("bob")
    first, second = alert_ids(web, 2)
    case = ann.post("/api/v1/cases", json={"title": "One", "alert_ids": [first]}).json()["id"]
    before = _ledger_entries(web, "cases")
    again = bob.post("/api/v1/cases", json={"title": "Two", "alert_ids": [second, first]})
    assert again.status_code == 409 and f"already in case {case}" in again.json()["detail"]
    assert _ledger_entries(web, "cases") == before
    other = bob.post("/api/v1/cases", json={"title": "Two", "alert_ids": [second]}).json()["id"]
    added = bob.post(f"/api/v1/cases/{other}/alerts", json={"alert_ids": [first]})
    assert added.status_code == 409
    assert ann.post(f"/api/v1/cases/{case}/alerts", json={"alert_ids": [first]}).status_code == 200  # its own case


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("risk", '["x", "y"]'),
        ("amount", '[true, "y"]'),
        ("date", '["not a date", "y"]'),
        ("date", '[20240101, "y"]'),
        ("buyer", '[12, "y"]'),
        ("risk", '{"a": 1}'),
        ("risk", "not json"),
    ],
)
@pytest.mark.reliability(
    "bad input",
    "page cursors of the wrong type or shape",
    "422 with a reason, not 500",
)
def test_a_malformed_page_cursor_is_a_422_not_a_500(web: WebApp, sort: str, cursor: str) -> None:
    response = web.api("ann").get("/api/v1/alerts", params={"sort": sort, "after": cursor})
    assert response.status_code == 422
    assert response.json() == {"detail": "bad page cursor"}


@pytest.mark.reliability(
    "attack",
    "an unexpected error inside a request",
    "500 still carries CSP, nosniff and no-store",
)
def test_an_unexpected_error_is_a_500_with_the_security_headers(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(web.app.state.warehouse, "alerts", broken)
    response = web.api("ann").get("/api/v1/alerts")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "a bug" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.reliability(
    "attack",
    "bulk CSV downloads with cells starting =, +, -, @",
    "neutralised against formula injection",
)
def test_csv_downloads_neutralise_formulas(web_warehouse: str, tmp_path: Path) -> None:
    import csv
    import io
    import shutil

    import duckdb
    from fastapi.testclient import TestClient

    from tests.web.conftest import make_web_app

    db = str(tmp_path / "w.duckdb")
    shutil.copy(web_warehouse, db)
    with duckdb.connect(db) as connection:
        ocid = connection.execute("SELECT min(ocid) FROM processes").fetchone()[0]
        connection.execute("UPDATE processes SET title = '=HYPERLINK(\"http://evil\")' WHERE ocid = ?", [ocid])
    made = make_web_app(db, str(tmp_path / "app.sqlite"), tmp_path)
    with TestClient(made.app, base_url="https://testserver") as public:
        text = public.get("/downloads/processes.csv").text
        rows = {row["ocid"]: row for row in csv.DictReader(io.StringIO(text))}
        assert rows[ocid]["title"] == '\'=HYPERLINK("http://evil")'
        parquet = public.get("/downloads/processes.parquet")
        assert parquet.status_code == 200


@pytest.mark.reliability(
    "attack",
    "anonymous visitors reading citizens' concerns",
    "hidden unless a moderator publishes one; the form says so",
)
def test_concerns_are_for_the_auditors_unless_a_moderator_publishes_one(web: WebApp) -> None:
    from fastapi.testclient import TestClient

    from clearsight.web.app import create_app

    public = web.api(None)
    process = public.get("/api/v1/processes", params={"limit": 1}).json()["processes"][0]
    ocid = process["ocid"]
    page = public.get(f"/processes/syn/{ocid}").text
    assert "goes to the auditors, not to this page" in page
    for text in ("Private: the winner is the minister's cousin.", "Public: the deadline was two days."):
        assert public.post("/api/v1/concerns", json={"dataset": "syn", "ocid": ocid, "text": text}).status_code == 202
    sue = web.api("sue")
    pending = {c["text"]: c["id"] for c in sue.get("/api/v1/concerns").json() if c["status"] == "pending"}
    private = pending["Private: the winner is the minister's cousin."]
    published = pending["Public: the deadline was two days."]
    refused = sue.post(f"/api/v1/concerns/{private}/moderation", json={"accept": False, "publish": True})
    assert refused.status_code == 422
    assert sue.post(f"/api/v1/concerns/{private}/moderation", json={"accept": True}).json()["published"] is False
    answer = sue.post(f"/api/v1/concerns/{published}/moderation", json={"accept": True, "publish": True}).json()
    assert answer["published"] is True

    def public_texts(client: TestClient) -> tuple[str, str]:
        return client.get(f"/processes/syn/{ocid}").text, client.get(f"/api/v1/processes/syn/{ocid}").text

    for client in (public, web.client("ann")):
        html, api = public_texts(client)
        for shown in (html, api):
            assert "minister's cousin" not in shown
            assert "deadline was two days" in shown
    # The auditors see both, and so after a restart.
    inbox = web.api("ann").get("/api/v1/alerts", params={"indicator": "CIT"}).json()
    assert inbox["total"] == 2
    restarted = create_app(web.settings)
    with TestClient(restarted, base_url="https://testserver") as again:
        html = again.get(f"/processes/syn/{ocid}").text
        assert "minister's cousin" not in html and "deadline was two days" in html


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12"),
        ("Password2024!", "most commonly chosen"),
        ("qwertyqwerty", "most commonly chosen"),
        ("Welcome123456", "most commonly chosen"),
        ("123456789012", "most commonly chosen"),
        ("aaaaaaaaaaaa", "one character repeated"),
        ("abcdefghijkl", "consecutive"),
        ("rita-the-auditor-2026", "user name"),
    ],
)
@pytest.mark.reliability(
    "attack",
    "short and common passwords",
    "refused with the reason",
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    from clearsight.cases.security import password_problem

    found = password_problem(password, "rita")
    assert found is not None and problem in found


def test_good_passwords_pass() -> None:
    from clearsight.cases.security import password_problem

    for password in ("correct horse battery", "Tender-Cartel-Lamp-77", "ħ5Qz!vB2#pLm"):
        assert password_problem(password, "rita") is None


@pytest.mark.reliability(
    "attack",
    "reading the app database as another user; the app served over HTTPS",
    "the app database is mode 0600, also one an older version left readable; HSTS and __Host- cookies",
)
def test_the_app_database_is_private_and_https_gets_hsts_and_host_cookies(web: WebApp, tmp_path: Path) -> None:
    import os
    import stat

    from fastapi.testclient import TestClient

    from clearsight.cases.models import open_app_db
    from clearsight.web.app import Settings, create_app
    from tests.web.conftest import PASSWORD, csrf_of

    assert stat.S_IMODE(os.stat(web.settings.app_db).st_mode) == 0o600
    loose = tmp_path / "old-app.sqlite"
    loose.touch(mode=0o644)
    os.chmod(loose, 0o644)
    engine, _sessions = open_app_db(str(loose))
    engine.dispose()
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o600  # a file an older version left readable is fixed
    secure = web.client()
    page = secure.get("/login")
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    login = secure.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                        follow_redirects=False)  # fmt: skip
    cookie = next(h for h in login.headers.get_list("set-cookie") if "cs_session=" in h)
    assert cookie.startswith("__Host-cs_session=") and "Path=/" in cookie and "Domain" not in cookie
    plain = create_app(Settings(warehouse=web.settings.warehouse, app_db=str(tmp_path / "plain.sqlite"),
                                ledger=str(tmp_path / "l.sqlite"), secure_cookies=False))  # fmt: skip
    with TestClient(plain, base_url="http://testserver") as http:
        answer = http.get("/login")
        assert "strict-transport-security" not in answer.headers
        assert any(h.startswith("cs_visitor=") for h in answer.headers.get_list("set-cookie"))
