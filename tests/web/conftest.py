"""Fixtures for the web app: a small flagged warehouse, app databases (SQLite, PostgreSQL), users and clients."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clearsight.cases import security
from clearsight.cases.models import open_app_db
from clearsight.web.app import Settings, create_app
from tests.conftest import postgres_schema, synthetic_warehouse

PASSWORD = "correct horse battery"
# user name → role; two of each working role so that object-level rules and four-eyes can be tested.
USERS = {"ann": "analyst", "bob": "analyst", "sue": "supervisor", "sam": "supervisor", "ada": "admin"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def web_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    return synthetic_warehouse(tmp_path_factory.mktemp("web"), 600, 5, "flags")


@dataclass
class WebApp:
    app: FastAPI
    settings: Settings
    tokens: dict[str, str]

    def client(self, username: str | None = None) -> TestClient:
        """A browser-like client (cookies, HTTPS so that Secure cookies are kept), logged in as `username`."""
        client = TestClient(self.app, base_url="https://testserver")
        if username is not None:
            login(client, username)
        return client

    def api(self, username: str | None) -> TestClient:
        """A script-like client: no cookies, the user's API token."""
        client = TestClient(self.app, base_url="https://testserver")
        if username is not None:
            client.headers["Authorization"] = f"Bearer {self.tokens[username]}"
        return client


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def make_web_app(warehouse: str, app_db: str, folder: Path) -> WebApp:
    engine, sessions = open_app_db(app_db)
    tokens = {}
    with sessions() as db:
        for username, role in USERS.items():
            user = security.add_user(db, username, PASSWORD, role)
            tokens[username] = security.new_api_token(db, user, "tests")
        db.commit()
    engine.dispose()
    settings = Settings(warehouse=warehouse, app_db=app_db, ledger=str(folder / "ledger.sqlite"))
    return WebApp(create_app(settings), settings, tokens)


@pytest.fixture(params=["sqlite", "postgresql"])
def app_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "app.sqlite")
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def web(web_warehouse: str, tmp_path: Path) -> Iterator[WebApp]:
    """The app on SQLite (the default), with the five users."""
    made = make_web_app(web_warehouse, str(tmp_path / "app.sqlite"), tmp_path)
    with TestClient(made.app):  # runs the lifespan
        yield made


@pytest.fixture
def web_any_db(web_warehouse: str, app_db_url: str, tmp_path: Path) -> Iterator[WebApp]:
    """The app on each supported app database (PostgreSQL when CI has started one)."""
    made = make_web_app(web_warehouse, app_db_url, tmp_path)
    yield made


AlertIds = Callable[[WebApp, int], list[str]]


def alert_ids(web: WebApp, count: int, **filters: str) -> list[str]:
    response = web.api("ann").get("/api/v1/alerts", params={"limit": count, **filters})
    assert response.status_code == 200, response.text
    return [row["alert_id"] for row in response.json()["alerts"]]


def start_server(command: list[str], port: int, cwd: Path, timeout: float = 90) -> subprocess.Popen[str]:
    """`clearsight serve` as its own process, once it answers on `port` (stdout and stderr merged)."""
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise AssertionError(server.stdout.read() if server.stdout else "the server stopped")
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"the server did not answer within {timeout:g} s")
        time.sleep(0.3)
