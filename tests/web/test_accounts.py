"""Account lifecycle and login throttling (issue 15, findings 6 and 11): atomic, progressive, per account at an
address; tokens that expire, read-only tokens, revocation; sessions and tokens that die with a password change or
deactivation; trusted proxies."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from clearsight.cases import security, throttle
from clearsight.cases.models import LoginAttempt, SecurityEvent, User, open_app_db
from clearsight.cli import app as cli
from clearsight.cli.web import _demo_accounts
from clearsight.web.app import Settings, create_app
from tests.web.conftest import PASSWORD, WebApp, csrf_of, login

runner = CliRunner()


def _try_login(client: TestClient, username: str, password: str, **headers: str) -> int:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, headers=headers
    ).status_code


class Clock:
    """utcnow for the throttle and the security module, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
        monkeypatch.setattr(throttle, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.mark.reliability(
    "attack",
    "50 concurrent wrong passwords for one account (SQLite and PostgreSQL)",
    "exactly 5 checked, 45 told to wait",
)
def test_fifty_concurrent_wrong_passwords_get_exactly_five_checked(web_any_db: WebApp) -> None:
    """Finding 6: the limit was checked, then the attempt recorded: 42 of 50 concurrent guesses were checked."""
    engine, sessions = open_app_db(web_any_db.settings.app_db)
    outcomes: list[str] = []
    start = threading.Barrier(50)

    def guess() -> None:
        with sessions() as db:
            start.wait()
            try:
                security.authenticate(db, "bob", "not the password", client="one-address")
            except security.RateLimited:
                outcomes.append("limited")
            except security.SecurityError:
                outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as db:
        attempts = db.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == "bob"))
    engine.dispose()
    assert sorted(outcomes) == ["checked"] * 5 + ["limited"] * 45
    assert attempts == 5


@pytest.mark.reliability(
    "attack",
    "repeated wrong passwords for one account from one address",
    "after 5, waits of 30 s doubling to 15 min; the owner at another address still logs in",
)
def test_waits_double_after_five_failures_and_a_success_forgives(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    engine, sessions = open_app_db(web.settings.app_db)

    def attempt(password: str, client: str = "here") -> str:
        with sessions() as db:
            try:
                security.authenticate(db, "bob", password, client)
                db.commit()
                return "ok"
            except security.RateLimited as limited:
                return f"wait {limited.retry_after}"
            except security.SecurityError:
                return "wrong"

    assert [attempt("wrong guess 1") for _ in range(5)] == ["wrong"] * 5
    assert attempt(PASSWORD) == "wait 30"  # even the right password, from this address, for now
    waits = []
    for expected in (30, 60, 120, 240, 480, 900, 900):
        clock.advance(expected - 1)
        assert attempt("wrong guess 2") == "wait 1"
        clock.advance(1)
        assert attempt("wrong guess 2") == "wrong"
        waits.append(attempt("wrong guess 3"))
    assert waits == ["wait 60", "wait 120", "wait 240", "wait 480", "wait 900", "wait 900", "wait 900"]
    assert attempt(PASSWORD, client="elsewhere") == "ok"  # the owner, at their own address, is never locked out
    clock.advance(900)
    assert attempt(PASSWORD) == "ok"
    assert [attempt("wrong again") for _ in range(5)] == ["wrong"] * 5  # a success forgave the account's failures
    engine.dispose()


@pytest.mark.reliability(
    "attack",
    "one address guessing passwords for 22 different accounts",
    "after 20 failures the address waits",
)
def test_an_address_guessing_many_accounts_is_throttled(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(monkeypatch)
    engine, sessions = open_app_db(web.settings.app_db)
    outcomes = []
    for index in range(22):
        with sessions() as db:
            try:
                security.authenticate(db, f"nobody{index}", "some guess here", "sprayer")
                outcomes.append("ok")
            except security.RateLimited as limited:
                outcomes.append(f"wait {limited.retry_after}")
            except security.SecurityError:
                outcomes.append("wrong")
    engine.dispose()
    assert outcomes == ["wrong"] * 20 + ["wait 30", "wait 30"]


@pytest.mark.reliability(
    "attack",
    "25 wrong passwords for the admin through the agency's reverse proxy; forged X-Forwarded-For",
    "only the attacker's address waits; the admin and colleagues log in; forged headers from untrusted peers "
    "are ignored",
)
def test_an_attacker_behind_the_same_proxy_cannot_lock_out_the_admin(web: WebApp) -> None:
    """Finding 6: 5 failed requests locked any named account (admin included) even against the right password,
    and 20 failures from one address locked everyone behind a reverse proxy."""
    behind_proxy = create_app(Settings(**{**web.settings.__dict__, "trusted_proxies": ("testclient",)}))
    attacker = TestClient(behind_proxy, base_url="https://testserver")
    for _ in range(25):
        code = _try_login(attacker, "ada", "wrong guess here", **{"X-Forwarded-For": "203.0.113.66"})
        assert code in (401, 429)
    refused = _try_login(attacker, "ada", PASSWORD, **{"X-Forwarded-For": "203.0.113.66"})
    assert refused == 429
    owner = TestClient(behind_proxy, base_url="https://testserver")
    assert _try_login(owner, "ada", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}) == 200
    colleague = TestClient(behind_proxy, base_url="https://testserver")
    assert _try_login(colleague, "ann", PASSWORD, **{"X-Forwarded-For": "198.51.100.8"}) == 200
    # Without the proxy named, a forwarded address is not believed: forging one does not escape the throttle.
    direct = TestClient(web.app, base_url="https://testserver")
    codes = [_try_login(direct, "bob", "wrong guess here", **{"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(7)]
    assert codes == [401] * 5 + [429, 429]


@pytest.mark.reliability(
    "attack",
    "a login while throttled",
    "HTTP 429 with Retry-After and a sentence saying when",
)
def test_the_limited_answer_says_when_to_come_back(web: WebApp) -> None:
    client = web.client()
    for _ in range(5):
        assert _try_login(client, "sam", "wrong guess here") == 401
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and response.headers["retry-after"] == "30"
    assert "try again in 30 seconds" in response.text


@pytest.mark.reliability(
    "attack",
    "30 concurrent citizens' concerns from one address (SQLite and PostgreSQL)",
    "exactly 5 accepted, 25 refused with 429",
)
def test_thirty_concurrent_concerns_accept_exactly_five(web_any_db: WebApp) -> None:
    """Finding 6: 13 of 30 concurrent concerns were accepted (limit 5 an hour)."""
    public = TestClient(web_any_db.app, base_url="https://testserver")
    with public:
        process = public.get("/api/v1/processes", params={"limit": 1}).json()["processes"][0]
        body = {"dataset": "syn", "ocid": process["ocid"], "text": "The winner is the minister's cousin."}
        codes: list[int] = []
        start = threading.Barrier(30)

        def send() -> None:
            start.wait()
            codes.append(public.post("/api/v1/concerns", json=body).status_code)

        threads = [threading.Thread(target=send) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(codes) == [202] * 5 + [429] * 25


def _user(web: WebApp, username: str) -> tuple[Any, Any, User]:
    engine, sessions = open_app_db(web.settings.app_db)
    db = sessions()
    return engine, db, db.scalar(select(User).where(User.username == username))


@pytest.mark.reliability(
    "attack",
    "a stolen session and token after the owner changes the password",
    "both stop working at once; other users unaffected; weak new passwords refused",
)
def test_a_password_change_ends_sessions_and_revokes_tokens(web: WebApp) -> None:
    browser = web.client("ann")
    assert browser.get("/cases", follow_redirects=False).status_code == 200
    script = web.api("ann")
    assert script.get("/api/v1/alerts").status_code == 200
    other = web.api("bob")
    changed = runner.invoke(
        cli, ["--db", web.settings.warehouse, "users", "password", "ann", "--password-stdin",
              "--app-db", web.settings.app_db], input="a brand new passphrase\n",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "1 session ended, 1 token revoked" in changed.output
    assert browser.get("/cases", follow_redirects=False).status_code == 303  # back to the login page
    assert script.get("/api/v1/alerts").status_code == 401
    assert other.get("/api/v1/alerts").status_code == 200  # nobody else's access changed
    assert _try_login(web.client(), "ann", PASSWORD) == 401
    login(web.client(), "ann", "a brand new passphrase")
    weak = runner.invoke(
        cli, ["--db", web.settings.warehouse, "users", "password", "ann", "--password-stdin",
              "--app-db", web.settings.app_db], input="password12\n",
    )  # fmt: skip
    assert weak.exit_code == 1 and "at least 12" in weak.output


@pytest.mark.reliability(
    "attack",
    "a deactivated user's sessions, tokens and new logins",
    "all refused; reactivation restores login only",
)
def test_deactivation_ends_access_and_activation_restores_login_only(web: WebApp) -> None:
    browser = web.client("bob")
    script = web.api("bob")
    base = ["--db", web.settings.warehouse, "users"]
    result = runner.invoke(cli, [*base, "deactivate", "bob", "--app-db", web.settings.app_db, "--json"])
    assert result.exit_code == 0, result.output
    assert '"sessions_ended": 1' in result.output and '"tokens_revoked": 1' in result.output
    assert browser.get("/cases", follow_redirects=False).status_code == 303
    assert script.get("/api/v1/alerts").status_code == 401
    assert _try_login(web.client(), "bob", PASSWORD) == 401
    made = runner.invoke(cli, [*base, "token", "create", "bob", "--app-db", web.settings.app_db])
    assert made.exit_code == 1 and "deactivated" in made.output
    assert runner.invoke(cli, [*base, "activate", "bob", "--app-db", web.settings.app_db]).exit_code == 0
    login(web.client(), "bob")
    assert script.get("/api/v1/alerts").status_code == 401  # old tokens stay revoked
    missing = runner.invoke(cli, [*base, "deactivate", "nobody", "--app-db", web.settings.app_db])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output
    engine, sessions = open_app_db(web.settings.app_db)
    with sessions() as db:
        kinds = db.scalars(select(SecurityEvent.kind).where(SecurityEvent.username == "bob")).all()
    engine.dispose()
    assert {"user_deactivated", "user_reactivated"} <= set(kinds)


@pytest.mark.reliability(
    "attack",
    "an expired token, a read-only token writing, a revoked token",
    "401, 403, 401",
)
def test_tokens_expire_can_be_read_only_and_are_revoked_by_id(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["--db", web.settings.warehouse, "users", "token"]
    app_db = ["--app-db", web.settings.app_db]
    reader = runner.invoke(cli, [*base, "create", "sue", "--read-only", "--name", "dashboard", *app_db])
    assert reader.exit_code == 0, reader.output
    client = TestClient(
        web.app, base_url="https://testserver", headers={"Authorization": f"Bearer {reader.stdout.strip()}"}
    )
    assert client.get("/api/v1/concerns").status_code == 200  # reads what a supervisor reads
    refused = client.post("/api/v1/cases", json={"title": "x", "alert_ids": []})
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    listed = runner.invoke(cli, [*base, "list", "sue", *app_db, "--json"])
    rows = {row["name"]: row for row in __import__("json").loads(listed.stdout)}
    assert set(rows) == {"tests", "dashboard"}
    assert (rows["dashboard"]["scope"], rows["dashboard"]["state"]) == ("read", "active")
    revoked = runner.invoke(cli, [*base, "revoke", str(rows["dashboard"]["id"]), *app_db])
    assert revoked.exit_code == 0 and "revoked 1 token of sue" in revoked.output
    assert client.get("/api/v1/concerns").status_code == 401
    assert web.api("sue").get("/api/v1/concerns").status_code == 200  # her other token is untouched
    # Expiry: a one-day token works today and not two days later.
    short = runner.invoke(cli, [*base, "create", "sam", "--days", "1", *app_db]).stdout.strip()
    soon = TestClient(web.app, base_url="https://testserver", headers={"Authorization": f"Bearer {short}"})
    assert soon.get("/api/v1/concerns").status_code == 200
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    monkeypatch.setattr(security, "utcnow", lambda: later)
    assert soon.get("/api/v1/concerns").status_code == 401
    assert runner.invoke(cli, [*base, "revoke", *app_db]).exit_code == 1  # neither an id nor --user


@pytest.mark.reliability(
    "attack",
    "old sessions and tokens after `serve --demo-users` resets the passwords",
    "refused",
)
def test_demo_users_get_new_passwords_and_old_sessions_die(web_warehouse: str, tmp_path: Path) -> None:
    """Finding 11: after `serve --demo-users` reset the passwords, old session cookies and tokens still worked."""
    location = str(tmp_path / "app.sqlite")
    first = {name: password for name, _, password in _demo_accounts(location)}
    app = create_app(Settings(warehouse=web_warehouse, app_db=location, ledger=str(tmp_path / "ledger.sqlite")))
    browser = TestClient(app, base_url="https://testserver")
    login(browser, "analyst", first["analyst"])
    assert browser.get("/cases", follow_redirects=False).status_code == 200
    second = {name: password for name, _, password in _demo_accounts(location)}
    assert second["analyst"] != first["analyst"]
    assert browser.get("/cases", follow_redirects=False).status_code == 303
