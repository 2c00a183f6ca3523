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


token_app = command_group("API tokens: make, list and revoke them.")
users_app.add_typer(token_app, name="token")


def _find_user(db, username: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from clearsight.cases.models import User

    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        fail(f"no user {username!r} (see `clearsight users list`)")
    return user


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(help="User the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    days: Annotated[float, typer.Option(help="Days until the token expires.", min=0.001, max=3660)] = 90.0,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token may only read (GET), whatever the user's role.")
    ] = False,
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make an API token (printed once; send it as `Authorization: Bearer TOKEN`)."""
    from clearsight.cases import security
    from clearsight.cases.models import open_app_db

    engine, sessions = open_app_db(_app_db(app_db))
    try:
        with sessions() as db:
            user = _find_user(db, username)
            token = security.new_api_token(db, user, name, days=days, scope="read" if read_only else "full")
            db.commit()
    except security.SecurityError as error:
        fail(str(error))
    finally:
        engine.dispose()
    if json_output:
        print_json({"user": username, "name": name, "token": token, "read_only": read_only, "days": days})
        return
    sys.stdout.write(token + "\n")  # plain, for scripts: TOKEN=$(clearsight users token create …)


def _tokens(db, username: str | None) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from clearsight.cases.models import ApiToken, User, utcnow

    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username:
        query = query.where(User.username == username)
    now = utcnow()
    rows = []
    for token, owner in db.execute(query):
        expires = token.expires_at.replace(tzinfo=now.tzinfo) if token.expires_at else None
        state_ = "revoked" if token.revoked else "expired" if expires and expires <= now else "active"
        rows.append({
            "id": token.id, "user": owner, "name": token.name, "scope": token.scope, "state": state_,
            "created": token.created_at, "expires": token.expires_at, "last_used": token.last_used_at,
        })  # fmt: skip
    return rows


@token_app.command("list")
def token_list(
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List API tokens (never the tokens themselves: only a hash of each is kept)."""
    from rich.table import Table

    from clearsight.cases.models import open_app_db

    engine, sessions = open_app_db(_app_db(app_db))
    with sessions() as db:
        rows = _tokens(db, username)
    engine.dispose()
    if json_output:
        print_json(rows)
        return
    table = Table("id", "user", "name", "scope", "state", "expires", "last used")
    for row in rows:
        expires, used = row["expires"], row["last_used"]
        table.add_row(
            str(row["id"]), str(row["user"]), str(row["name"]), str(row["scope"]), str(row["state"]),
            f"{expires:%d %b %Y}" if expires else "never", f"{used:%d %b %Y %H:%M}" if used else "never",
        )  # fmt: skip
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int | None, typer.Argument(help="The token's id (see `users token list`).")] = None,
    every_of: Annotated[str | None, typer.Option("--user", help="Revoke every token of this user.")] = None,
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke a token by its id, or all of a user's tokens (--user NAME); it stops working at once."""
    from sqlalchemy import update

    from clearsight.cases import security
    from clearsight.cases.models import ApiToken, User, open_app_db

    if (token_id is None) == (every_of is None):
        fail("give a token id or --user NAME (not both)")
    engine, sessions = open_app_db(_app_db(app_db))
    with sessions() as db:
        if every_of is not None:
            user = _find_user(db, every_of)
            query = update(ApiToken).where(ApiToken.user_id == user.id, ~ApiToken.revoked)
            owner = every_of
        else:
            token = db.get(ApiToken, token_id)
            if token is None:
                engine.dispose()
                fail(f"no token {token_id} (see `clearsight users token list`)")
            owner = db.get(User, token.user_id).username
            query = update(ApiToken).where(ApiToken.id == token_id, ~ApiToken.revoked)
        revoked = db.execute(query.values(revoked=True)).rowcount
        security.record_event(db, "token_revoked", owner, None, token=token_id, revoked=revoked)
        db.commit()
    engine.dispose()
    if json_output:
        print_json({"user": owner, "revoked": revoked})
        return
    console.print(f"revoked {revoked} token{'s' if revoked != 1 else ''} of {owner}")


@users_app.command("password")
def users_password(
    username: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input (else one is made).")
    ] = False,
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Set a new password; the user's sessions end and API tokens are revoked."""
    from clearsight.cases import security
    from clearsight.cases.models import open_app_db

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    engine, sessions = open_app_db(_app_db(app_db))
    try:
        with sessions() as db:
            user = _find_user(db, username)
            ended, revoked = security.change_password(db, user, password, by="command line")
            db.commit()
    except security.SecurityError as error:
        fail(str(error))
    finally:
        engine.dispose()
    if json_output:
        shown = None if password_stdin else password
        print_json({"user": username, "password": shown, "sessions_ended": ended, "tokens_revoked": revoked})
        return
    console.print(
        f"new password for {username}" + ("" if password_stdin else f": {password}")
        + f"; {ended} session{'s' if ended != 1 else ''} ended, {revoked} token{'s' if revoked != 1 else ''} revoked"
    )  # fmt: skip


def _set_active(username: str, active: bool, app_db: str | None, json_output: bool) -> None:
    from clearsight.cases import security
    from clearsight.cases.models import open_app_db

    engine, sessions = open_app_db(_app_db(app_db))
    with sessions() as db:
        user = _find_user(db, username)
        ended, revoked = security.set_active(db, user, active, by="command line")
        db.commit()
    engine.dispose()
    if json_output:
        print_json({"user": username, "active": active, "sessions_ended": ended, "tokens_revoked": revoked})
        return
    if active:
        console.print(f"{username} can log in again (make new API tokens: the old ones stay revoked)")
    else:
        console.print(f"{username} is deactivated: {ended} session(s) ended, {revoked} token(s) revoked")


@users_app.command("deactivate")
def users_deactivate(
    username: Annotated[str, typer.Argument(help="User name.")],
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop a user logging in: sessions end and API tokens are revoked; their cases and history stay."""
    _set_active(username, False, app_db, json_output)


@users_app.command("activate")
def users_activate(
    username: Annotated[str, typer.Argument(help="User name.")],
    app_db: AppDbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Let a deactivated user log in again."""
    _set_active(username, True, app_db, json_output)


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
                security.change_password(db, user, password, by="serve --demo-users")
            accounts.append((username, role, password))
        db.commit()
    engine.dispose()
    return accounts


def _proxies(given: list[str]) -> list[str]:
    import ipaddress

    proxies = [part for item in given for part in item.replace(",", " ").split()]
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy)
        except ValueError:
            fail(f"--trusted-proxy {proxy!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/8)")
    return proxies


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
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="A reverse proxy's address or network (e.g. 10.0.0.5 or 10.0.0.0/8) whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed; repeat for several. Without it the client is the connection's peer.",
            envvar="CLEARSIGHT_TRUSTED_PROXIES",
        ),
    ] = None,
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
        trusted_proxies=tuple(_proxies(trusted_proxy or [])),
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
