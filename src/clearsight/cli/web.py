"""`clearsight serve` and `clearsight users`: the web workbench, portal and API, and their accounts."""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from clearsight.cli.common import JsonOption, command_group, console, fail, print_json, state

ROLES = ("analyst", "supervisor", "admin")  # checked against clearsight.cases.models.ROLES by the tests

users_app = command_group("Workbench accounts: add users, make API tokens.")

AppDbOption = Annotated[
    str | None,
    typer.Option(
        "--app-db",
        help="App state database: a SQLite file or a postgresql:// URL (default: beside --db, e.g. "
        "clearsight-app.sqlite).",
        envvar="CLEARSIGHT_APP_DB",
    ),
]


def _app_db(option: str | None) -> str:
    from clearsight.web.config import default_app_db

    return option or default_app_db(state.database)


def _secret_path() -> Path:
    warehouse = Path(state.database)
    return warehouse.with_name(f"{warehouse.stem}-web.secret")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "analyst",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (else one is made).")
    ] = False,
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a user; prints a generated password unless --password-stdin is given."""
    from clearsight.cases import security
    from clearsight.cases.models import open_app_db

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    engine, sessions = open_app_db(_app_db(app_db))
    try:
        with sessions() as db:
            security.add_user(db, username, password, role)
            db.commit()
    except security.SecurityError as error:
        fail(str(error))
    finally:
        engine.dispose()
    if json_output:
        print_json({"user": username, "role": role, "password": None if password_stdin else password})
        return
    console.print(f"added {username} ({role})" + ("" if password_stdin else f", password: {password}"))


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="User the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make an API token (printed once; send it as `Authorization: Bearer TOKEN`)."""
    from sqlalchemy import select

    from clearsight.cases import security
    from clearsight.cases.models import User, open_app_db

    engine, sessions = open_app_db(_app_db(app_db))
    with sessions() as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            engine.dispose()
            fail(f"no user {username!r}")
        token = security.new_api_token(db, user, name)
        db.commit()
    engine.dispose()
    if json_output:
        print_json({"user": username, "name": name, "token": token})
        return
    sys.stdout.write(token + "\n")  # plain, for scripts: TOKEN=$(clearsight users token …)


@users_app.command("list")
def users_list(app_db: AppDbOption = None, json_output: JsonOption = False) -> None:
    """List users."""
    from rich.table import Table
    from sqlalchemy import select

    from clearsight.cases.models import User, open_app_db

    engine, sessions = open_app_db(_app_db(app_db))
    with sessions() as db:
        users = [
            {"user": user.username, "role": user.role, "active": user.active, "since": user.created_at.date()}
            for user in db.scalars(select(User).order_by(User.username))
        ]
    engine.dispose()
    if json_output:
        print_json(users)
        return
    table = Table("user", "role", "active", "since")
    for user in users:
        table.add_row(user["user"], user["role"], "yes" if user["active"] else "no", f"{user['since']:%d %b %Y}")
    console.print(table)


def _demo_accounts(location: str) -> list[tuple[str, str, str]]:
    """(Re)create the demo analyst, supervisor and admin with fresh passwords."""
    from sqlalchemy import select

    from clearsight.cases import security
    from clearsight.cases.models import User, open_app_db

    engine, sessions = open_app_db(location)
    accounts = []
    with sessions() as db:
        for username, role in (("analyst", "analyst"), ("supervisor", "supervisor"), ("admin", "admin")):
            password = secrets.token_urlsafe(9)
            user = db.scalar(select(User).where(User.username == username))
            if user is None:
                security.add_user(db, username, password, role)
            else:
                security.set_password(user, password)
            accounts.append((username, role, password))
        db.commit()
    engine.dispose()
    return accounts


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    app_db: AppDbOption = None,
    demo_users: Annotated[
        bool, typer.Option("--demo-users", help="Create demo analyst/supervisor/admin accounts and print them.")
    ] = False,
    insecure_cookies: Annotated[
        bool,
        typer.Option("--insecure-cookies", help="Send cookies over plain HTTP to other hosts (never in production)."),
    ] = False,
    workers: Annotated[int, typer.Option(help="Server threads for page requests.")] = 40,
    reload_seconds: Annotated[
        float,
        typer.Option(
            "--reload-seconds",
            min=0,
            help="How often to look whether the warehouse changed and, if so, serve a fresh snapshot (0: never).",
        ),
    ] = 5.0,
) -> None:
    """Serve the public portal, the auditors' workbench and the JSON API (FastAPI + uvicorn).

    The server reads a snapshot of the warehouse and holds no lock on it: every other command (ingest, flags
    run, summary, query, …) works while it serves, and it serves their results within --reload-seconds."""
    import asyncio

    import anyio.to_thread
    import uvicorn
    from rich.table import Table

    from clearsight.engine import WarehouseBusy
    from clearsight.web.app import Settings, create_app
    from clearsight.web.config import load_secret

    state.require_duckdb("`serve`")
    location = _app_db(app_db)
    if not Path(state.database).exists():
        fail(f"no warehouse at {state.database}: ingest data and run `clearsight flags run` first")
    settings = Settings(
        warehouse=state.database,
        app_db=location,
        ledger=state.ledger,
        secret=load_secret(_secret_path()),
        secure_cookies=not insecure_cookies,
        memory_limit=state.memory_limit,
        reload_seconds=reload_seconds,
        wait_seconds=state.wait,
    )

    def waiting(busy: WarehouseBusy) -> None:
        console.print(f"waiting up to {state.wait:g} s for the warehouse {state.database}: in use by {busy.holder}")

    try:
        application = create_app(settings, on_wait=waiting)
    except WarehouseBusy as busy:
        fail(f"{busy}; try again when it has finished (--wait SECONDS waits longer)")
    url = f"http://{'localhost' if host == '127.0.0.1' else host}:{port}/"
    if demo_users:
        table = Table("account", "role", "password", title="Demo accounts (passwords are new at every start)")
        for username, role, password in _demo_accounts(location):
            table.add_row(username, role, password)
        console.print(table)
    console.print(f"clearsight is serving {state.database} at [bold]{url}[/] — log in at {url}login (Ctrl+C stops)")

    config = uvicorn.Config(application, host=host, port=port, log_level="warning", proxy_headers=False)
    logging.getLogger("clearsight.web").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    server = uvicorn.Server(config)

    async def _main() -> None:
        # Page handlers run in anyio's thread pool; its size is set inside the event loop that owns it.
        anyio.to_thread.current_default_thread_limiter().total_tokens = workers
        await server.serve()

    # uvicorn shuts down cleanly on Ctrl+C, then re-raises the interrupt it caught.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
    console.print("clearsight stopped serving")
