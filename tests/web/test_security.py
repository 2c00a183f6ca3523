"""Permissions (every endpoint × every role, and other users' objects), CSRF, sessions, rate limits, headers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from clearsight.cases.models import SecurityEvent, User, WebSession, open_app_db
from clearsight.web.app import create_app
from tests.web.conftest import PASSWORD, WebApp, alert_ids, csrf_of, login

ROLES = ("public", "analyst", "supervisor", "admin")
ACTING = {"public": None, "analyst": "ann", "supervisor": "sue", "admin": "ada"}
RANK = {role: index for index, role in enumerate(ROLES)}

# Every route: who may use it. A new route without a line here fails test_every_route_is_in_the_matrix.
MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/api/openapi.json"): "public",
    ("GET", "/static/{name}"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    ("GET", "/"): "public",
    ("GET", "/search"): "public",
    ("GET", "/processes/{dataset}/{ocid:path}/ocds.json"): "public",
    ("GET", "/processes/{dataset}/{ocid:path}"): "public",
    ("POST", "/processes/{dataset}/{ocid:path}/concern"): "public",
    ("GET", "/organisations/{dataset}/{party_id}"): "public",
    ("GET", "/flags"): "public",
    ("GET", "/flags/{code}"): "public",
    ("GET", "/downloads"): "public",
    ("GET", "/downloads/releases.jsonl"): "public",
    ("GET", "/downloads/{what}.{fmt}"): "public",
    ("GET", "/api"): "public",
    ("GET", "/inbox"): "analyst",
    ("GET", "/alerts/{alert_id}"): "analyst",
    ("POST", "/alerts/{alert_id}/triage"): "analyst",
    ("POST", "/cases"): "analyst",
    ("POST", "/cases/merge"): "analyst",
    ("GET", "/cases"): "analyst",
    ("GET", "/cases/{case_id}"): "analyst",
    ("POST", "/cases/{case_id}/transition"): "analyst",
    ("POST", "/cases/{case_id}/approval"): "supervisor",
    ("POST", "/cases/{case_id}/assign"): "supervisor",
    ("POST", "/cases/{case_id}/notes"): "analyst",
    ("GET", "/stats"): "analyst",
    ("GET", "/concerns"): "supervisor",
    ("POST", "/concerns/{concern_id}/moderation"): "supervisor",
    ("GET", "/admin"): "admin",
    ("GET", "/api/v1/processes"): "public",
    ("GET", "/api/v1/processes/{dataset}/{ocid}"): "public",
    ("GET", "/api/v1/organisations"): "public",
    ("GET", "/api/v1/organisations/{dataset}/{party_id}"): "public",
    ("GET", "/api/v1/indicators"): "public",
    ("GET", "/api/v1/changes"): "public",
    ("POST", "/api/v1/concerns"): "public",
    ("GET", "/api/v1/alerts"): "analyst",
    ("GET", "/api/v1/alerts/{alert_id}"): "analyst",
    ("POST", "/api/v1/alerts/{alert_id}/triage"): "analyst",
    ("GET", "/api/v1/cases"): "analyst",
    ("POST", "/api/v1/cases"): "analyst",
    ("GET", "/api/v1/cases/{case_id}"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/alerts"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/transition"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/approval"): "supervisor",
    ("POST", "/api/v1/cases/{case_id}/assign"): "supervisor",
    ("POST", "/api/v1/cases/{case_id}/notes"): "analyst",
    ("GET", "/api/v1/stats/precision"): "analyst",
    ("GET", "/api/v1/concerns"): "supervisor",
    ("POST", "/api/v1/concerns/{concern_id}/moderation"): "supervisor",
}


def _routes(web: WebApp) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in web.app.routes
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
    }


def test_every_route_is_in_the_matrix(web: WebApp) -> None:
    assert _routes(web) == set(MATRIX)


@pytest.fixture
def objects(web: WebApp) -> dict[str, Any]:
    """A case of ann's (with a closure waiting), an alert, a concern, a process and an organisation."""
    ann = web.api("ann")
    ids = alert_ids(web, 4)
    case = ann.post("/api/v1/cases", json={"title": "ann's", "alert_ids": ids[:1]}).json()["id"]
    process = ann.get("/api/v1/processes", params={"q": "", "limit": 1}).json()["processes"][0]
    concern = web.api(None).post(
        "/api/v1/concerns", json={"dataset": "syn", "ocid": process["ocid"], "text": "The deadline was two days."}
    )
    assert concern.status_code == 202, concern.text
    return {
        "case": case,
        "alert": ids[1],
        "spare": ids[2],
        "concern": concern.json()["id"],
        "dataset": "syn",
        "ocid": process["ocid"],
        "party": process["buyer_id"],
    }


def _request(method: str, path: str, o: dict[str, Any], api: bool) -> tuple[str, dict[str, Any]]:
    """A concrete URL and a valid body for a route."""
    url = (
        path.replace("{dataset}", o["dataset"]).replace("{ocid:path}", o["ocid"]).replace("{ocid}", o["ocid"])
        .replace("{party_id}", o["party"]).replace("{code}", "R003").replace("{alert_id}", o["alert"])
        .replace("{case_id}", str(o["case"])).replace("{concern_id}", str(o["concern"]))
        .replace("{what}.{fmt}", "processes.csv").replace("{name}", "style.css")
    )  # fmt: skip
    bodies: dict[str, dict[str, Any]] = {
        "/login": {"username": "nobody", "password": "wrong password"},
        "/alerts/{alert_id}/triage": {"status": "triaged"},
        "/cases": {"title": "matrix", "alert_ids": [o["spare"]]},
        "/cases/merge": {"case_id": o["case"], "alert_ids": [o["spare"]]},
        "/cases/{case_id}/transition": {"to": "active"},
        "/cases/{case_id}/approval": {"decision": "reject"},
        "/cases/{case_id}/assign": {"assignee": "ann"},
        "/cases/{case_id}/notes": {"text": "a note"},
        "/concerns/{concern_id}/moderation": {"decision": "reject"},
        "/processes/{dataset}/{ocid:path}/concern": {"text": "Looks rigged to me."},
        "/api/v1/concerns": {"dataset": o["dataset"], "ocid": o["ocid"], "text": "Looks rigged to me."},
        "/api/v1/alerts/{alert_id}/triage": {"status": "triaged"},
        "/api/v1/cases": {"title": "matrix", "alert_ids": [o["spare"]]},
        "/api/v1/cases/{case_id}/alerts": {"alert_ids": [o["spare"]]},
        "/api/v1/cases/{case_id}/transition": {"to": "active"},
        "/api/v1/cases/{case_id}/approval": {"approve": False},
        "/api/v1/cases/{case_id}/assign": {"assignee": "ann"},
        "/api/v1/cases/{case_id}/notes": {"text": "a note"},
        "/api/v1/concerns/{concern_id}/moderation": {"accept": False},
    }
    body = bodies.get(path, {})
    if method == "GET":
        return url, {}
    return url, ({"json": body} if api else {"data": body})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.reliability(
    "attack",
    "every route called by every role and by anonymous visitors",
    "exactly the matrix's answers",
)
def test_permission_matrix(web: WebApp, objects: dict[str, Any], role: str) -> None:
    username = ACTING[role]
    browser = web.client(username)
    token = csrf_of(browser.get("/login").text) if username is None else None
    if username is not None:
        token = csrf_of(browser.get("/cases").text)
    script = web.api(username)
    problems = []
    for (method, path), needed in sorted(MATRIX.items(), key=lambda item: item[0][1] == "/logout"):  # logout last
        api = path.startswith("/api/v1/")
        url, body = _request(method, path, objects, api)
        if method == "POST" and not api:
            body["data"] = {**body["data"], "csrf_token": token}
        client: TestClient = script if api else browser
        response = client.request(method, url, follow_redirects=False, **body)
        allowed = RANK[role] >= RANK[needed]
        to_login = response.status_code == 303 and response.headers["location"].startswith("/login")
        # A wrong password answers 401 to anyone: that is the login working, not a refusal of the route.
        refused = response.status_code in ((403,) if path == "/login" else (401, 403)) or to_login
        if allowed and (refused or response.status_code >= 500):
            problems.append(f"{role} refused {method} {path}: {response.status_code} {response.text[:200]}")
        if not allowed:
            expected = (401, 303) if role == "public" else (403,)
            if response.status_code not in expected or (response.status_code == 303 and not to_login):
                problems.append(f"{role} was let through {method} {path}: {response.status_code}")
    assert problems == []


@pytest.mark.reliability(
    "attack",
    "an analyst reading another analyst's case",
    "not found",
)
def test_other_users_cases_are_invisible_to_analysts(web: WebApp, objects: dict[str, Any]) -> None:
    case = objects["case"]
    bob = web.api("bob")
    assert bob.get(f"/api/v1/cases/{case}").status_code == 404
    assert case not in [row["id"] for row in bob.get("/api/v1/cases").json()]
    for path, body in (
        ("alerts", {"alert_ids": [objects["spare"]]}),
        ("transition", {"to": "active"}),
        ("notes", {"text": "sneaky"}),
        ("approval", {"approve": True}),
    ):
        assert bob.post(f"/api/v1/cases/{case}/{path}", json=body).status_code in (403, 404), path
    browser = web.client("bob")
    token = csrf_of(browser.get("/cases").text)
    assert browser.get(f"/cases/{case}").status_code == 404
    assert browser.post(f"/cases/{case}/notes", data={"text": "x", "csrf_token": token}).status_code == 404
    merged = browser.post("/cases/merge", data={"case_id": case, "alert_ids": [objects["spare"]], "csrf_token": token})
    assert merged.status_code == 404
    # Unknown ids answer the same as invisible ones.
    assert bob.get("/api/v1/cases/999999").status_code == 404
    # Once assigned to bob, he sees it.
    assert web.api("sue").post(f"/api/v1/cases/{case}/assign", json={"assignee": "bob"}).status_code == 200
    assert bob.get(f"/api/v1/cases/{case}").status_code == 200


@pytest.mark.reliability(
    "attack",
    "cookie-authenticated writes without a CSRF token (cross-site request forgery)",
    "refused",
)
def test_csrf_is_required_for_cookie_requests(web: WebApp, objects: dict[str, Any]) -> None:
    ann = web.client("ann")
    case = objects["case"]
    own = csrf_of(ann.get("/cases").text)
    assert ann.post(f"/cases/{case}/notes", data={"text": "no token"}).status_code == 403
    assert ann.post(f"/cases/{case}/notes", data={"text": "bad", "csrf_token": "0" * 64}).status_code == 403
    other = csrf_of(web.client("sue").get("/cases").text)  # another session's token
    assert ann.post(f"/cases/{case}/notes", data={"text": "theirs", "csrf_token": other}).status_code == 403
    # The JSON API through the session cookie needs the token in a header too.
    assert ann.post(f"/api/v1/cases/{case}/notes", json={"text": "cookie only"}).status_code == 403
    ok = ann.post(f"/api/v1/cases/{case}/notes", json={"text": "with header"}, headers={"X-CSRF-Token": own})
    assert ok.status_code == 201
    assert ann.post(f"/cases/{case}/notes", data={"text": "fine", "csrf_token": own}).status_code == 200
    # Login forms too (login CSRF): a post without the visitor's token is refused.
    fresh = web.client()
    assert fresh.post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 403
    engine, sessions = open_app_db(web.settings.app_db)
    with sessions() as db:
        kinds = [event.kind for event in db.scalars(select(SecurityEvent))]
    engine.dispose()
    assert kinds.count("csrf_rejected") >= 5


def test_passwords_sessions_and_cookies(web: WebApp) -> None:
    client = web.client()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-cs_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax"} <= flags
    secret = cookie.split(";")[0].split("=", 1)[1]
    engine, sessions = open_app_db(web.settings.app_db)
    with sessions() as db:
        assert db.get(WebSession, secret) is None  # only a hash of the cookie is stored
        assert len(db.scalars(select(WebSession)).all()) == 1
        assert db.scalar(select(User.password_hash).where(User.username == "ann")).startswith("$argon2id$")
    engine.dispose()
    # Logging out ends the session on the server.
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/cases").text)})
    client.cookies.set("__Host-cs_session", secret, domain="testserver.local")
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_login_rate_limit_and_security_events(web: WebApp) -> None:
    client = web.client()
    for _ in range(5):
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"username": "bob", "password": "guess-guess", "csrf_token": token})
        assert response.status_code == 401
    token = csrf_of(client.get("/login").text)
    locked = client.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429  # even the right password, from this address, until the wait passes
    login(web.client(), "ann")  # other accounts are not locked
    admin = web.client("ada")
    events = admin.get("/admin").text
    assert events.count("login_failed") >= 5 and "login_locked" in events


@pytest.mark.reliability(
    "attack",
    "a login link that redirects to another site afterwards",
    "the redirect stays on the site",
)
def test_no_open_redirect_after_login(web: WebApp) -> None:
    client = web.client()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/inbox"


@pytest.mark.reliability(
    "attack",
    "malformed and unknown bearer tokens",
    "401; every answer carries the security headers",
)
def test_bad_tokens_and_security_headers(web: WebApp) -> None:
    script = TestClient(web.app, base_url="https://testserver", headers={"Authorization": "Bearer cst_forged"})
    assert script.get("/api/v1/alerts").status_code == 401
    page = web.client().get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert web.api("ann").get("/api/v1/alerts").headers["cache-control"] == "no-store"


def test_concerns_are_rate_limited_and_moderated_into_alerts(web: WebApp) -> None:
    public = web.api(None)
    process = public.get("/api/v1/processes", params={"limit": 1}).json()["processes"][0]
    body = {"dataset": "syn", "ocid": process["ocid"], "text": "The winner is the minister's cousin."}
    ids = [public.post("/api/v1/concerns", json=body) for _ in range(6)]
    assert [r.status_code for r in ids] == [202] * 5 + [429]
    assert public.post("/api/v1/concerns", json={**body, "ocid": "no-such"}).status_code in (404, 429)
    sue = web.api("sue")
    pending = [c for c in sue.get("/api/v1/concerns").json() if c["status"] == "pending"]
    decided = sue.post(f"/api/v1/concerns/{pending[0]['id']}/moderation", json={"accept": True}).json()
    assert decided["status"] == "accepted" and decided["alert_id"]
    alert = web.api("ann").get(f"/api/v1/alerts/{decided['alert_id']}").json()
    assert alert["indicator"] == "CIT" and "minister's cousin" in alert["explanation"]
    inbox = web.api("ann").get("/api/v1/alerts", params={"indicator": "CIT"}).json()
    assert inbox["total"] == 1
    assert sue.post(f"/api/v1/concerns/{pending[0]['id']}/moderation", json={"accept": True}).status_code == 409
    # In a case, and still there after a restart.
    web.api("ann").post("/api/v1/cases", json={"title": "citizen", "alert_ids": [decided["alert_id"]]})
    restarted = WebApp(create_app(web.settings), web.settings, web.tokens)
    again = restarted.api("ann").get(f"/api/v1/alerts/{decided['alert_id']}").json()
    assert (again["indicator"], again["status"]) == ("CIT", "in_case")
