"""`clearsight serve`: the FastAPI application — public portal, auditors' workbench and the JSON API.

Pages are rendered on the server (Jinja2, no JavaScript needed); the JSON API under /api/v1 is described by
OpenAPI at /api/openapi.json and on the page /api. Permissions are checked on the server in every handler (see
`clearsight.cases.workflow` for object-level rules); unknown or invisible objects answer 404 alike.
"""

import asyncio
import contextlib
import datetime as dt
import json
import logging
import pathlib
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from fastapi import Depends, FastAPI, Form, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from clearsight import __version__
from clearsight.cases import security, throttle
from clearsight.cases.models import Case, Concern, SecurityEvent, User, open_app_db
from clearsight.cases.workflow import (
    CLOSURE_REASONS,
    FINAL,
    TRANSITIONS,
    TRIAGE,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Workbench,
    is_supervisor,
    usernames,
)
from clearsight.engine import WarehouseBusy
from clearsight.report import charts
from clearsight.web.warehouse import (
    ALERT_STATUSES,
    DOWNLOADS,
    SORT_TYPES,
    SORTS,
    AlertQuery,
    Warehouse,
    explain,
    indicator_catalogue,
)

_F = TypeVar("_F", bound=Callable[..., Any])
HERE = pathlib.Path(__file__).parent
logger = logging.getLogger(__name__)
SESSION_COOKIE = "cs_session"
VISITOR_COOKIE = "cs_visitor"


LEVELS = {"public": 0, "analyst": 1, "supervisor": 2, "admin": 3}
# Citizens' concerns from one address: 5 an hour, then one an hour.
CONCERNS = throttle.Rule(
    free=5, first_delay=dt.timedelta(hours=1), longest_delay=dt.timedelta(hours=1), window=dt.timedelta(hours=1)
)


@dataclass
class Settings:
    warehouse: str
    app_db: str
    ledger: str
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    secure_cookies: bool = True
    memory_limit: str = "2GB"
    # How often the server looks whether the warehouse changed (0: never; a restart then shows new data).
    reload_seconds: float = 5.0
    # How long to wait at start for a command that is writing the warehouse.
    wait_seconds: float = 60.0
    # Reverse proxies (addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed: behind one,
    # the client's address (login throttling, concerns) is the one it forwarded, not the proxy's own.
    trusted_proxies: tuple[str, ...] = ()


def cookie_name(settings: Settings, name: str) -> str:
    """Over HTTPS the cookies carry the `__Host-` prefix: the browser then keeps them only when set Secure, for the
    whole site, by this very host (no subdomain can plant or overwrite one)."""
    return f"__Host-{name}" if settings.secure_cookies else name


@dataclass
class Actor:
    """Who is asking: a user (by session cookie or API token) or the anonymous public."""

    user: User | None
    via: Literal["session", "token", "anonymous"]
    csrf: str  # the token forms must send back
    session_id: str | None = None

    @property
    def role(self) -> str:
        return self.user.role if self.user else "public"

    def at_least(self, role: str) -> bool:
        return LEVELS[self.role] >= LEVELS[role]

    @property
    def staff(self) -> User:
        """The logged-in user of a workbench handler (its role dependency has refused anonymous callers)."""
        if self.user is None:
            raise Unauthenticated("log in first")
        return self.user


class Unauthenticated(Exception):
    pass


# --- API models -------------------------------------------------------------------------------------------
class TriageIn(BaseModel):
    status: Literal["new", "triaged", "dismissed"]


class CaseIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    alert_ids: list[str] = Field(min_length=1, max_length=1000)


class AlertIdsIn(BaseModel):
    alert_ids: list[str] = Field(min_length=1, max_length=1000)


class TransitionIn(BaseModel):
    to: Literal["active", "addressed", "declined", "completed", "closed", "stopped", "cancelled"]
    reason: Literal["true_positive", "false_positive", "duplicate"] | None = None


class AssignIn(BaseModel):
    assignee: str = Field(min_length=1, max_length=80)


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class ApprovalIn(BaseModel):
    approve: bool


class ConcernIn(BaseModel):
    dataset: str = Field(min_length=1, max_length=200)
    ocid: str = Field(min_length=1, max_length=400)
    text: str = Field(min_length=10, max_length=5000)


class ModerationIn(BaseModel):
    accept: bool
    publish: bool = False  # also show the concern on the public process page (it is private otherwise)


class CaseOut(BaseModel):
    id: int
    title: str
    status: str
    assignee: str | None
    created_by: str | None
    pending_status: str | None
    closure_reason: str | None
    updated_at: dt.datetime


class Message(BaseModel):
    detail: str


MAX_ID = 2**31 - 1  # ids are 32-bit integers in every supported database
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
ConcernId = Annotated[int, Path(ge=1, le=MAX_ID)]

API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Message, "description": "No or invalid API token"},
    403: {"model": Message, "description": "The caller's role may not do this (or a CSRF token is missing)"},
    404: {"model": Message, "description": "No such object, or one the caller may not see"},
    409: {"model": Message, "description": "Not allowed in the object's current state"},
    422: {"description": "Invalid input"},
    429: {"model": Message, "description": "Too many requests: try again later"},
}


def _state(request: Request) -> Any:
    return request.app.state


# The HTTP status of each refusal of the case workflow (an error page, or a form answered beside itself).
WORKFLOW_ERROR_STATUS: dict[type[Exception], int] = {Forbidden: 403, NotFound: 404, Conflict: 409, Invalid: 422}


def db_session(request: Request) -> Iterator[Session]:
    with _state(request).sessions() as db:
        yield db


Db = Annotated[Session, Depends(db_session)]


def _client_of(request: Request) -> str:
    """A keyed hash of the client's address (rate limits, security events)."""
    return security.client_key(_state(request).settings.secret, request.client.host if request.client else None)


async def sent_csrf(request: Request) -> str | None:
    """The CSRF token a state-changing request sent (header or form field). Async, because reading the form
    awaits the body; it touches no database, so that the event loop never waits for a connection."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    return sent


def actor_of(request: Request, db: Db, sent: Annotated[str | None, Depends(sent_csrf)]) -> Actor:
    """Who is asking. A plain function: FastAPI runs it in the thread pool, where waiting for the database is
    harmless (on the event loop, a wait for a pooled connection stalled every request)."""
    settings: Settings = _state(request).settings
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        granted = security.token_access(db, authorization[7:].strip())
        if granted is None:
            security.record_event(db, "bad_token", None, _client_of(request), path=request.url.path)
            db.commit()
            raise Unauthenticated("invalid, expired or revoked API token")
        user, token = granted
        if token.scope == "read" and request.method not in ("GET", "HEAD", "OPTIONS"):
            security.record_event(db, "access_denied", user.username, _client_of(request), path=request.url.path,
                                  needs="a full token")  # fmt: skip
            db.commit()
            raise Forbidden("this API token is read-only")
        db.commit()
        return Actor(user, "token", csrf="")
    found = security.session_user(db, request.cookies.get(cookie_name(settings, SESSION_COOKIE)))
    if found is not None:
        user, row = found
        actor = Actor(user, "session", csrf=row.csrf_token, session_id=row.id)
    else:
        visitor = request.cookies.get(cookie_name(settings, VISITOR_COOKIE)) or getattr(request.state, "visitor", None)
        if not visitor:
            visitor = secrets.token_urlsafe(18)
            request.state.visitor = visitor
        actor = Actor(None, "anonymous", csrf=security.csrf_token(settings.secret, visitor))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _check_csrf(request, db, actor, sent)
    return actor


def _check_csrf(request: Request, db: Session, actor: Actor, sent: str | None) -> None:
    # Cookie-authenticated requests and every HTML form need the token; anonymous JSON calls carry no ambient
    # authority (no cookie is trusted) and need none.
    if actor.via == "anonymous" and request.url.path.startswith("/api/"):
        return
    visitor_cookie = cookie_name(_state(request).settings, VISITOR_COOKIE)
    expected = actor.csrf if actor.via == "session" or request.cookies.get(visitor_cookie) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        security.record_event(
            db, "csrf_rejected", actor.user.username if actor.user else None, _client_of(request),
            path=request.url.path,
        )  # fmt: skip
        db.commit()
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


ActorDep = Annotated[Actor, Depends(actor_of)]


def _require(actor: Actor, request: Request, db: Session, role: str) -> Actor:
    if actor.user is None:
        raise Unauthenticated("log in first")
    if not actor.at_least(role):
        security.record_event(
            db, "access_denied", actor.user.username, _client_of(request), path=request.url.path, needs=role
        )
        db.commit()
        raise Forbidden(f"this needs the {role} role")
    return actor


def require_analyst(actor: ActorDep, request: Request, db: Db) -> Actor:
    return _require(actor, request, db, "analyst")


def require_supervisor(actor: ActorDep, request: Request, db: Db) -> Actor:
    return _require(actor, request, db, "supervisor")


def require_admin(actor: ActorDep, request: Request, db: Db) -> Actor:
    return _require(actor, request, db, "admin")


Analyst = Annotated[Actor, Depends(require_analyst)]
Supervisor = Annotated[Actor, Depends(require_supervisor)]
Admin = Annotated[Actor, Depends(require_admin)]


def create_app(settings: Settings, on_wait: Callable[[WarehouseBusy], None] | None = None) -> FastAPI:
    """The app on a snapshot of the warehouse; `on_wait` is told once if a writer makes the start wait."""
    engine, make_session = open_app_db(settings.app_db)
    warehouse = Warehouse(
        settings.warehouse, memory_limit=settings.memory_limit, wait=settings.wait_seconds, on_wait=on_wait
    )
    bench = Workbench(warehouse, settings.ledger)
    with make_session() as db:
        bench.restore(db)

    async def follow_the_warehouse() -> None:
        """Reload the snapshot when the warehouse changed; while a writer holds it, keep the last one."""
        while True:
            await asyncio.sleep(settings.reload_seconds)
            try:
                await anyio.to_thread.run_sync(warehouse.reload)
            except WarehouseBusy as busy:
                logger.info("%s; serving the last snapshot until it is free", busy)
            except Exception:
                logger.exception("reloading the warehouse %s failed; serving the last snapshot", settings.warehouse)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        follower = asyncio.create_task(follow_the_warehouse()) if settings.reload_seconds > 0 else None
        yield
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        warehouse.close()
        engine.dispose()

    app = FastAPI(
        title="clearsight",
        version=__version__,
        description="Open procurement data, red flags and their explanations; the auditors' workbench API.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.bench = bench
    app.state.warehouse = warehouse
    app.state.sessions = make_session
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(version=__version__, FINAL=FINAL, CLOSURE_REASONS=CLOSURE_REASONS, TRIAGE=TRIAGE)
    templates.env.globals["with_param"] = _with_param
    templates.env.filters["money"] = lambda v: "" if v is None else f"{v:,.0f}"
    templates.env.filters["pct"] = lambda v: "" if v is None else f"{100 * v:.0f}%"
    templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, default=str, ensure_ascii=False)

    def client_of(request: Request) -> str:
        return _client_of(request)

    def page(request: Request, actor: Actor, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(
            request, name, {"actor": actor, "user": actor.user, "csrf": actor.csrf, **context},
            status_code=status_code,
        )  # fmt: skip
        visitor = getattr(request.state, "visitor", None)
        if visitor:
            response.set_cookie(
                cookie_name(settings, VISITOR_COOKIE), visitor, httponly=True, secure=settings.secure_cookies,
                samesite="lax",
            )  # fmt: skip
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def error(request: Request, status: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status)
        anonymous = Actor(None, "anonymous", csrf="")
        return templates.TemplateResponse(
            request, "error.html", {"actor": anonymous, "user": None, "csrf": "", "status": status, "message": message},
            status_code=status,
        )  # fmt: skip

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    for kind, status in WORKFLOW_ERROR_STATUS.items():

        async def _handler(request: Request, exc: Exception, status: int = status) -> Response:
            return error(request, status, str(exc))

        app.add_exception_handler(kind, _handler)

    @app.exception_handler(security.RateLimited)
    async def _limited(request: Request, exc: security.RateLimited) -> Response:
        response = error(request, 429, str(exc))
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxies:  # outermost, so that everything inside sees the client's address and scheme
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    static_types = {"style.css": "text/css", "favicon.svg": "image/svg+xml"}

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in static_types:
            raise NotFound(f"no file {name}")
        return FileResponse(HERE / "static" / name, media_type=static_types[name])

    # --- login ------------------------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, actor: ActorDep, next: str = "/inbox") -> HTMLResponse:
        return page(request, actor, "login.html", next=_safe_next(next), failed=None)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        actor: ActorDep,
        db: Db,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1000)],
        next: Annotated[str, Form(max_length=500)] = "/inbox",
    ) -> Response:
        try:
            user = security.authenticate(db, username, password, client_of(request))
        except security.RateLimited as exc:
            refused = page(request, actor, "login.html", status_code=429, next=_safe_next(next), failed=str(exc))
            refused.headers["Retry-After"] = str(exc.retry_after or 60)
            return refused
        except security.SecurityError as exc:
            return page(request, actor, "login.html", status_code=401, next=_safe_next(next), failed=str(exc))
        new = security.start_session(db, user)
        db.commit()
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            cookie_name(settings, SESSION_COOKIE), new.cookie, httponly=True, secure=settings.secure_cookies,
            samesite="lax",
            max_age=security.SESSION_HOURS * 3600,
        )  # fmt: skip
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, actor: ActorDep, db: Db) -> Response:
        security.end_session(db, request.cookies.get(cookie_name(settings, SESSION_COOKIE)))
        if actor.user:
            security.record_event(db, "logout", actor.user.username, client_of(request))
        db.commit()
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(
            cookie_name(settings, SESSION_COOKIE), secure=settings.secure_cookies, httponly=True, samesite="lax"
        )
        return response

    # --- public portal ------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, actor: ActorDep) -> HTMLResponse:
        counts = warehouse.rows(
            """SELECT dataset, count(*) AS processes, sum(tender_value_amount) AS value FROM processes
               GROUP BY 1 ORDER BY 1"""
        )
        flagged = warehouse.rows(
            """SELECT indicator, count(*) AS n FROM idx.alerts WHERE subject_type = 'process'
               AND indicator <> 'CIT' GROUP BY 1 ORDER BY 2 DESC LIMIT 15"""
        )
        chart = Markup(
            charts.bars(
                [(row["indicator"], float(row["n"])) for row in flagged],
                "Flagged processes by indicator",
                percent=False,
            )
        )
        return page(request, actor, "home.html", counts=counts, chart=chart)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search(request: Request, actor: ActorDep, q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
        q = q.strip()
        processes = warehouse.search_processes(q, 50) if q else []
        organisations = warehouse.search_organisations(q, 30) if q else []
        return page(request, actor, "search.html", q=q, processes=processes, organisations=organisations)

    @app.get("/processes/{dataset}/{ocid:path}/ocds.json", include_in_schema=False)
    def process_ocds(dataset: str, ocid: str) -> Response:
        lines = list(warehouse.releases(dataset, ocid))
        if not lines:
            raise NotFound(f"no process {ocid} in {dataset}")
        package = {"releases": [json.loads(line) for line in lines]}
        return JSONResponse(package, headers={"Content-Disposition": f'attachment; filename="{ocid}.json"'})

    @app.get("/processes/{dataset}/{ocid:path}", response_class=HTMLResponse, include_in_schema=False)
    def process_page(request: Request, actor: ActorDep, dataset: str, ocid: str) -> HTMLResponse:
        process = warehouse.process(dataset, ocid)
        if process is None:
            raise NotFound(f"no process {ocid} in {dataset}")
        details = warehouse.process_details(dataset, ocid)
        return page(request, actor, "process.html", process=process, dataset=dataset, sent=None, **details)

    @app.post("/processes/{dataset}/{ocid:path}/concern", response_class=HTMLResponse, include_in_schema=False)
    def concern_form(
        request: Request,
        actor: ActorDep,
        db: Db,
        dataset: str,
        ocid: str,
        text: Annotated[str, Form(min_length=10, max_length=5000)],
    ) -> HTMLResponse:
        submit_concern(request, db, ConcernIn(dataset=dataset, ocid=ocid, text=text))
        process = warehouse.process(dataset, ocid)
        details = warehouse.process_details(dataset, ocid)
        return page(request, actor, "process.html", process=process, dataset=dataset, sent=True, **details)

    def submit_concern(request: Request, db: Session, concern: ConcernIn) -> Concern:
        if warehouse.process(concern.dataset, concern.ocid) is None:
            raise NotFound(f"no process {concern.ocid} in {concern.dataset}")
        client = client_of(request)
        try:
            throttle.charge(db, f"concern|{client}", CONCERNS)
        except throttle.Throttled as wait:
            security.record_event(db, "concern_limited", None, client)
            db.commit()
            raise security.RateLimited(
                f"at most {CONCERNS.free} reports an hour: please {wait}", retry_after=wait.seconds
            ) from None
        row = Concern(dataset=concern.dataset, ocid=concern.ocid, text=concern.text.strip(), client=client)
        db.add(row)
        db.commit()
        return row

    @app.get("/organisations/{dataset}/{party_id}", response_class=HTMLResponse, include_in_schema=False)
    def organisation_page(request: Request, actor: ActorDep, dataset: str, party_id: str) -> HTMLResponse:
        profile = warehouse.organisation(dataset, party_id)
        if profile is None:
            raise NotFound(f"no organisation {party_id} in {dataset}")

        def monthly(rows: list[dict[str, Any]], field: str, title: str, scale: float = 1.0) -> Markup | None:
            points = [(row["month"], float(row[field] or 0) * scale) for row in rows if row["month"]]
            return Markup(charts.line(points, title)) if rows else None

        spending = monthly(profile["as_buyer"], "value", "Spending per month (tender value)")
        competition = monthly(profile["as_buyer"], "single_bid_share", "Single-bid share per month (%)", 100.0)
        won = monthly(profile["as_supplier"], "value", "Awarded value per month")
        flags_chart = Markup(
            charts.bars(
                [(r["indicator"], float(r["alerts"])) for r in profile["flags"]], "Flags by indicator", percent=False
            )
        )
        public_alerts = profile["alerts"] if actor.at_least("analyst") else []
        return page(
            request, actor, "organisation.html", dataset=dataset, profile=profile, spending=spending,
            competition=competition, won=won, flags_chart=flags_chart, alerts=public_alerts,
        )  # fmt: skip

    @app.get("/flags", response_class=HTMLResponse, include_in_schema=False)
    def flags_page(request: Request, actor: ActorDep) -> HTMLResponse:
        return page(request, actor, "flags.html", indicators=indicator_catalogue())

    @app.get("/flags/{code}", response_class=HTMLResponse, include_in_schema=False)
    def flag_page(request: Request, actor: ActorDep, db: Db, code: str) -> HTMLResponse:
        found = [item for item in indicator_catalogue() if item["code"] == code]
        if not found:
            raise NotFound(f"no indicator {code}")
        precision = [row for row in bench.precision(db) if row["indicator"] == code]
        return page(request, actor, "flag.html", item=found[0], precision=precision[0] if precision else None)

    @app.get("/downloads", response_class=HTMLResponse, include_in_schema=False)
    def downloads_page(request: Request, actor: ActorDep) -> HTMLResponse:
        return page(request, actor, "downloads.html", tables=list(DOWNLOADS), datasets=warehouse.datasets())

    @app.get("/downloads/releases.jsonl", include_in_schema=False)
    def download_releases(dataset: Annotated[str | None, Query(max_length=200)] = None) -> StreamingResponse:
        return StreamingResponse(
            warehouse.releases(dataset), media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="releases.jsonl"'},
        )  # fmt: skip

    @app.get("/downloads/{what}.{fmt}", include_in_schema=False)
    def download(what: str, fmt: str, dataset: Annotated[str | None, Query(max_length=200)] = None) -> Response:
        if what not in DOWNLOADS or fmt not in ("csv", "parquet"):
            raise NotFound(f"no download {what}.{fmt}")
        handle = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)  # noqa: SIM115 — removed after sending
        handle.close()
        path = pathlib.Path(handle.name)
        warehouse.export(what, fmt, path, dataset)
        media = "text/csv" if fmt == "csv" else "application/vnd.apache.parquet"
        return FileResponse(
            path, media_type=media, filename=f"{what}.{fmt}", background=BackgroundTask(path.unlink, missing_ok=True)
        )

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request, actor: ActorDep) -> HTMLResponse:
        spec = app.openapi()
        operations = [
            {"method": method.upper(), "path": path, "summary": operation.get("summary", ""),
             "description": operation.get("description", "")}
            for path, methods in spec["paths"].items()
            for method, operation in methods.items()
        ]  # fmt: skip
        return page(request, actor, "api.html", operations=operations)

    # --- workbench pages -----------------------------------------------------------------------------------------
    def inbox_query(
        indicator: list[str] | None, status: list[str] | None, dataset: str | None, buyer: str | None,
        supplier: str | None, risk_min: float | None, amount_min: float | None, amount_max: float | None,
        date_from: dt.date | None, date_to: dt.date | None, q: str | None, sort: str, order: str,
        after: str | None, limit: int,
    ) -> AlertQuery:  # fmt: skip
        if sort not in SORTS:
            raise Invalid(f"sort by one of {', '.join(SORTS)}")
        bad = set(status or []) - set(ALERT_STATUSES)
        if bad:
            raise Invalid(f"unknown status {sorted(bad)}: one of {', '.join(ALERT_STATUSES)}")
        if after:
            try:
                value = json.loads(after)
                if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):
                    raise ValueError
                _check_cursor_value(value[0], SORT_TYPES.get(sort, "VARCHAR"))
            except ValueError as exc:
                raise Invalid("bad page cursor") from exc
        return AlertQuery(
            indicator=[i for i in indicator or [] if i], status=[s for s in status or [] if s], dataset=dataset or None,
            buyer=buyer or None, supplier=supplier or None, risk_min=risk_min, amount_min=amount_min,
            amount_max=amount_max, date_from=date_from, date_to=date_to, q=(q or "").strip() or None, sort=sort,
            descending=order != "asc", after=after or None, limit=limit,
        )  # fmt: skip

    def query_params(
        indicator: Annotated[list[str] | None, Query(max_length=10)] = None,
        status: Annotated[list[str] | None, Query()] = None,
        dataset: Annotated[str | None, Query(max_length=200)] = None,
        buyer: Annotated[str | None, Query(max_length=400)] = None,
        supplier: Annotated[str | None, Query(max_length=400)] = None,
        risk_min: Annotated[float | None, Query(ge=0, le=1)] = None,
        amount_min: Annotated[float | None, Query(ge=0, le=1e18)] = None,
        amount_max: Annotated[float | None, Query(ge=0, le=1e18)] = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        sort: Literal["risk", "amount", "date", "indicator", "buyer", "supplier"] = "risk",
        order: Literal["asc", "desc"] = "desc",
        after: Annotated[str | None, Query(max_length=1000)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> AlertQuery:
        return inbox_query(
            indicator, status, dataset, buyer, supplier, risk_min, amount_min, amount_max, date_from, date_to, q,
            sort, order, after, limit,
        )  # fmt: skip

    QueryDep = Annotated[AlertQuery, Depends(query_params)]

    @app.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
    def inbox(request: Request, actor: Analyst, db: Db, query: QueryDep) -> HTMLResponse:
        rows, following = warehouse.alerts(query)
        for row in rows:
            row["explanation"] = explain(row)
        facets = warehouse.facets(query)
        total = warehouse.total(query)
        base = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
        cases = db.scalars(bench.visible_cases(actor.staff).where(Case.status.not_in(FINAL)).limit(100)).all()
        return page(
            request, actor, "inbox.html", rows=rows, following=following, facets=facets, total=total, query=query,
            base=base, statuses=ALERT_STATUSES, sorts=list(SORTS), open_cases=cases,
        )  # fmt: skip

    @app.get("/alerts/{alert_id}", response_class=HTMLResponse, include_in_schema=False)
    def alert_page(request: Request, actor: Analyst, db: Db, alert_id: str) -> HTMLResponse:
        row = warehouse.alert(alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        related = warehouse.related_alerts(row)
        process = warehouse.process(row["dataset"], row["ocid"]) if row["ocid"] else None
        cases = db.scalars(bench.visible_cases(actor.staff).where(Case.status.not_in(FINAL)).limit(100)).all()
        return page(request, actor, "alert.html", alert=row, related=related, process=process, open_cases=cases)

    @app.post("/alerts/{alert_id}/triage", include_in_schema=False)
    def triage_form(
        actor: Analyst, db: Db, alert_id: str, status: Annotated[str, Form(max_length=20)]
    ) -> RedirectResponse:
        bench.triage(db, actor.staff, alert_id, status)
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)

    @app.post("/cases", include_in_schema=False)
    def create_case_form(
        actor: Analyst, db: Db, title: Annotated[str, Form(max_length=300)],
        alert_ids: Annotated[list[str], Form()],
    ) -> RedirectResponse:  # fmt: skip
        case = bench.create_case(db, actor.staff, title, alert_ids)
        return RedirectResponse(f"/cases/{case.id}", status_code=303)

    @app.post("/cases/merge", include_in_schema=False)
    def merge_form(
        actor: Analyst, db: Db, case_id: Annotated[int, Form(ge=1, le=MAX_ID)], alert_ids: Annotated[list[str], Form()]
    ) -> RedirectResponse:
        bench.add_alerts(db, actor.staff, case_id, alert_ids)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.get("/cases", response_class=HTMLResponse, include_in_schema=False)
    def cases_page(request: Request, actor: Analyst, db: Db) -> HTMLResponse:
        names = usernames(db)
        rows = [case_out(db, case, names) for case in db.scalars(bench.visible_cases(actor.staff).limit(500))]
        return page(request, actor, "cases.html", cases=rows)

    def render_case(
        request: Request, actor: Actor, db: Session, case_id: int, status_code: int = 200,
        form_error: tuple[str, str] | None = None, kept: dict[str, str] | None = None,
    ) -> HTMLResponse:  # fmt: skip
        """The case page; after a refused form, with the reason beside that form (`form_error`: form id, message)
        and what the user entered kept (`kept`)."""
        assert actor.staff is not None
        case = bench.case(db, actor.staff, case_id)
        users = db.scalars(select(User).where(User.active).order_by(User.username)).all()
        return page(
            request, actor, "case.html", status_code, case=case_out(db, case), alerts=bench.case_alerts(db, case),
            timeline=bench.timeline(db, case), next_states=TRANSITIONS.get(case.status, ()), users=users,
            can_approve=is_supervisor(actor.staff) and actor.staff.id not in (case.assignee_id, case.requested_by_id),
            form_error=form_error, kept=kept or {},
        )  # fmt: skip

    @app.get("/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
    def case_page(request: Request, actor: Analyst, db: Db, case_id: CaseId) -> HTMLResponse:
        return render_case(request, actor, db, case_id)

    @app.post("/cases/{case_id}/transition", include_in_schema=False, response_model=None)
    def transition_form(
        request: Request, actor: Analyst, db: Db, case_id: CaseId, to: Annotated[str, Form(max_length=20)],
        reason: Annotated[str | None, Form(max_length=20)] = None,
    ) -> RedirectResponse | HTMLResponse:  # fmt: skip
        try:
            bench.transition(db, actor.staff, case_id, to, reason or None)
        except (Invalid, Conflict) as error:  # said beside the form, with the choices kept
            db.rollback()
            status = next(code for kind, code in WORKFLOW_ERROR_STATUS.items() if isinstance(error, kind))
            kept = {"to": to, "reason": reason or ""}
            return render_case(request, actor, db, case_id, status, ("transition", str(error)), kept)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.post("/cases/{case_id}/approval", include_in_schema=False)
    def approval_form(
        actor: Analyst, db: Db, case_id: CaseId, decision: Annotated[str, Form(max_length=10)]
    ) -> RedirectResponse:
        bench.decide_closure(db, actor.staff, case_id, decision == "approve")
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.post("/cases/{case_id}/assign", include_in_schema=False)
    def assign_form(
        actor: Analyst, db: Db, case_id: CaseId, assignee: Annotated[str, Form(max_length=80)]
    ) -> RedirectResponse:
        bench.assign(db, actor.staff, case_id, assignee)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.post("/cases/{case_id}/notes", include_in_schema=False, response_model=None)
    def note_form(
        request: Request, actor: Analyst, db: Db, case_id: CaseId, text: Annotated[str, Form(max_length=20_000)] = ""
    ) -> RedirectResponse | HTMLResponse:
        try:
            bench.add_note(db, actor.staff, case_id, text)
        except Invalid as error:  # an empty note: said beside the form
            db.rollback()
            return render_case(request, actor, db, case_id, 422, ("note", str(error)), {"text": text})
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

    @app.get("/stats", response_class=HTMLResponse, include_in_schema=False)
    def stats_page(request: Request, actor: Analyst, db: Db) -> HTMLResponse:
        rows = bench.precision(db)
        chart = Markup(
            charts.bars(
                [(r["indicator"], r["precision"]) for r in rows if r["precision"] is not None],
                "Precision of closed cases by indicator",
            )
        )
        return page(request, actor, "stats.html", rows=rows, chart=chart)

    @app.get("/concerns", response_class=HTMLResponse, include_in_schema=False)
    def concerns_page(request: Request, actor: Supervisor, db: Db) -> HTMLResponse:
        rows = db.scalars(select(Concern).order_by(Concern.status != "pending", Concern.id.desc()).limit(200)).all()
        return page(request, actor, "concerns.html", concerns=rows)

    @app.post("/concerns/{concern_id}/moderation", include_in_schema=False)
    def moderate_form(
        actor: Supervisor, db: Db, concern_id: ConcernId, decision: Annotated[str, Form(max_length=10)]
    ) -> RedirectResponse:
        bench.moderate(db, actor.staff, concern_id, decision in ("accept", "publish"), publish=decision == "publish")
        return RedirectResponse("/concerns", status_code=303)

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page(request: Request, actor: Admin, db: Db) -> HTMLResponse:
        users = db.scalars(select(User).order_by(User.username)).all()
        events = db.scalars(select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(200)).all()
        return page(request, actor, "admin.html", users=users, events=events)

    def case_out(db: Session, case: Any, names: dict[int, str] | None = None) -> dict[str, Any]:
        names = names if names is not None else usernames(db)
        return {
            "id": case.id, "title": case.title, "status": case.status, "assignee": names.get(case.assignee_id),
            "created_by": names.get(case.created_by_id), "pending_status": case.pending_status,
            "pending_reason": case.pending_reason, "requested_by": names.get(case.requested_by_id),
            "closure_reason": case.closure_reason, "approved_by": names.get(case.approved_by_id),
            "updated_at": case.updated_at,
        }  # fmt: skip

    # --- JSON API: public ---------------------------------------------------------------------------------------
    def api_get(path: str, **options: Any) -> Callable[[_F], _F]:
        return app.get(f"/api/v1{path}", responses=API_ERRORS, **options)

    def api_post(path: str, **options: Any) -> Callable[[_F], _F]:
        return app.post(f"/api/v1{path}", responses=API_ERRORS, **options)

    @api_get("/processes", tags=["public"], summary="Search contracting processes")
    def api_processes(
        q: Annotated[str, Query(max_length=200)] = "",
        after: Annotated[str | None, Query(max_length=400)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        rows = warehouse.search_processes(q.strip(), limit, after)
        return {"processes": rows, "next": rows[-1]["ocid"] if len(rows) == limit else None}

    @api_get("/processes/{dataset}/{ocid}", tags=["public"], summary="A process with its flags")
    def api_process(dataset: str, ocid: str) -> dict[str, Any]:
        process = warehouse.process(dataset, ocid)
        if process is None:
            raise NotFound(f"no process {ocid} in {dataset}")
        details = warehouse.process_details(dataset, ocid)
        flags = [{k: row[k] for k in ("indicator", "value", "threshold", "explanation")} for row in details["flags"]]
        return {"process": process, "awards": details["awards"], "flags": flags, "risk": details["risk"]}

    @api_get("/organisations", tags=["public"], summary="Search buyers and suppliers")
    def api_organisations(q: Annotated[str, Query(max_length=200)] = "") -> dict[str, Any]:
        return {"organisations": warehouse.search_organisations(q.strip(), 50) if q.strip() else []}

    @api_get("/organisations/{dataset}/{party_id}", tags=["public"], summary="An organisation's profile")
    def api_organisation(dataset: str, party_id: str) -> dict[str, Any]:
        profile = warehouse.organisation(dataset, party_id)
        if profile is None:
            raise NotFound(f"no organisation {party_id} in {dataset}")
        profile.pop("alerts")
        return profile

    @api_get("/indicators", tags=["public"], summary="The red flags and what they measure")
    def api_indicators() -> list[dict[str, Any]]:
        return indicator_catalogue()

    @api_get("/changes", tags=["public"], summary="Change feed: ingest and flag runs, oldest first")
    def api_changes(
        after: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        rows = warehouse.changes(after, limit)
        cursor = f"{rows[-1]['finished_at']}|{rows[-1]['run_id']}" if rows else after
        return {"changes": rows, "next": cursor}

    @api_post(
        "/concerns", tags=["public"], summary="Report a concern about a process (moderated)", status_code=202
    )  # fmt: skip
    def api_concern(request: Request, actor: ActorDep, db: Db, concern: ConcernIn) -> dict[str, Any]:
        row = submit_concern(request, db, concern)
        return {"id": row.id, "status": row.status}

    # --- JSON API: workbench --------------------------------------------------------------------------------------
    @api_get("/alerts", tags=["workbench"], summary="The alert inbox: filters, sort, facets, keyset pages")
    def api_alerts(actor: Analyst, query: QueryDep, facets: bool = False) -> dict[str, Any]:
        rows, following = warehouse.alerts(query)
        result: dict[str, Any] = {"alerts": rows, "next": following, "total": warehouse.total(query)}
        if facets:
            result["facets"] = warehouse.facets(query)
        return result

    @api_get("/alerts/{alert_id}", tags=["workbench"], summary="An alert with its explanation")
    def api_alert(actor: Analyst, alert_id: str) -> dict[str, Any]:
        row = warehouse.alert(alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}")
        return {**row, "related": warehouse.related_alerts(row)}

    @api_post("/alerts/{alert_id}/triage", tags=["workbench"], summary="Triage an alert")
    def api_triage(actor: Analyst, db: Db, alert_id: str, body: TriageIn) -> dict[str, Any]:
        row = bench.triage(db, actor.staff, alert_id, body.status)
        return {"id": row.id, "status": row.status}

    @api_get("/cases", tags=["workbench"], summary="Cases the caller may see")
    def api_cases(actor: Analyst, db: Db) -> list[CaseOut]:
        names = usernames(db)
        cases = db.scalars(bench.visible_cases(actor.staff).limit(1000))
        return [CaseOut(**case_out(db, case, names)) for case in cases]

    @api_post("/cases", tags=["workbench"], summary="Open a case from alerts", status_code=201)
    def api_create_case(actor: Analyst, db: Db, body: CaseIn) -> CaseOut:
        case = bench.create_case(db, actor.staff, body.title, body.alert_ids)
        return CaseOut(**case_out(db, case))

    @api_get("/cases/{case_id}", tags=["workbench"], summary="A case with its alerts and timeline")
    def api_case(actor: Analyst, db: Db, case_id: CaseId) -> dict[str, Any]:
        case = bench.case(db, actor.staff, case_id)
        return {
            **case_out(db, case),
            "alerts": [{"id": a.id, "indicator": a.indicator, "ocid": a.ocid} for a in bench.case_alerts(db, case)],
            "timeline": bench.timeline(db, case),
        }

    @api_post("/cases/{case_id}/alerts", tags=["workbench"], summary="Merge alerts into a case")
    def api_merge(actor: Analyst, db: Db, case_id: CaseId, body: AlertIdsIn) -> CaseOut:
        return CaseOut(**case_out(db, bench.add_alerts(db, actor.staff, case_id, body.alert_ids)))

    @api_post("/cases/{case_id}/transition", tags=["workbench"], summary="Move a case (closing asks approval)")
    def api_transition(actor: Analyst, db: Db, case_id: CaseId, body: TransitionIn) -> CaseOut:
        return CaseOut(**case_out(db, bench.transition(db, actor.staff, case_id, body.to, body.reason)))

    @api_post("/cases/{case_id}/approval", tags=["workbench"], summary="Approve or reject a closure")
    def api_approval(actor: Analyst, db: Db, case_id: CaseId, body: ApprovalIn) -> CaseOut:
        return CaseOut(**case_out(db, bench.decide_closure(db, actor.staff, case_id, body.approve)))

    @api_post("/cases/{case_id}/assign", tags=["workbench"], summary="Assign a case (supervisors)")
    def api_assign(actor: Analyst, db: Db, case_id: CaseId, body: AssignIn) -> CaseOut:
        return CaseOut(**case_out(db, bench.assign(db, actor.staff, case_id, body.assignee)))

    @api_post("/cases/{case_id}/notes", tags=["workbench"], summary="Add a note", status_code=201)
    def api_note(actor: Analyst, db: Db, case_id: CaseId, body: NoteIn) -> dict[str, Any]:
        note = bench.add_note(db, actor.staff, case_id, body.text)
        return {"id": note.id}

    @api_get("/stats/precision", tags=["workbench"], summary="Per-indicator precision from closed cases")
    def api_precision(actor: Analyst, db: Db) -> list[dict[str, Any]]:
        return bench.precision(db)

    @api_get("/concerns", tags=["workbench"], summary="Citizens' concerns (supervisors)")
    def api_concerns(actor: Supervisor, db: Db) -> list[dict[str, Any]]:
        rows = db.scalars(select(Concern).order_by(Concern.id.desc()).limit(500)).all()
        return [
            {"id": c.id, "dataset": c.dataset, "ocid": c.ocid, "text": c.text, "status": c.status, "at": c.at}
            for c in rows
        ]

    @api_post("/concerns/{concern_id}/moderation", tags=["workbench"], summary="Accept or reject a concern")
    def api_moderate(actor: Supervisor, db: Db, concern_id: ConcernId, body: ModerationIn) -> dict[str, Any]:
        concern = bench.moderate(db, actor.staff, concern_id, body.accept, publish=body.publish)
        return {
            "id": concern.id,
            "status": concern.status,
            "alert_id": concern.alert_id,
            "published": concern.published,
        }

    return app


class SecurityHeaders:
    """Pure ASGI middleware adding security headers to every response (cheaper than an `http` middleware)."""

    HEADERS = (
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )
    PRIVATE = ("/inbox", "/alerts", "/cases", "/concerns", "/admin", "/stats", "/api/v1/")
    HSTS = (b"strict-transport-security", b"max-age=31536000")  # only on answers sent over HTTPS

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith(self.PRIVATE)
        https = scope.get("scheme") == "https"  # as the server saw it (behind a proxy: with its forwarded headers)
        started = False

        async def sending(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", [])) + list(self.HEADERS)
                if https:
                    headers.append(self.HSTS)
                if private:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            # An unexpected error still gets the security headers and says nothing of the code (Starlette's own
            # error response, outside this middleware, would carry neither).
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope["path"])
            if started:
                raise
            api = scope["path"].startswith("/api/")
            body = b'{"detail":"internal error"}' if api else b"<!DOCTYPE html><title>Error</title><p>Internal error."
            kind = b"application/json" if api else b"text/html; charset=utf-8"
            headers = [(b"content-type", kind), *self.HEADERS, (b"cache-control", b"no-store")]
            if https:
                headers.append(self.HSTS)
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def _check_cursor_value(value: Any, sql_type: str) -> None:
    """A page cursor's sort value must have the sort column's type (else the query fails: a 500, not a 422)."""
    if value is None:
        return
    if sql_type == "DOUBLE":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("not a number")
    elif sql_type == "DATE":
        if not isinstance(value, str):
            raise ValueError("not a date")
        dt.date.fromisoformat(value)
    elif not isinstance(value, str):
        raise ValueError("not text")


def _safe_next(target: str) -> str:
    """Only local paths: no open redirect after login."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/inbox"


def _with_param(base: list[tuple[str, str]], key: str | None, value: str | None) -> str:
    """A link to the inbox with one parameter added (facets) or the page cursor set; None keeps the filters."""
    from urllib.parse import urlencode

    items = [(k, v) for k, v in base if v != ""]
    if key == "after":
        items = [(k, v) for k, v in items if k != "after"]
    if key is not None and value is not None:
        items.append((key, value))
    return "/inbox?" + urlencode(items) if items else "/inbox"
