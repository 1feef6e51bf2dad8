"""The web application: webhook receiver, operations endpoints, and the background services.

`create_app(settings)` wires everything; its lifespan owns the order of start and stop:
schema check (SQLite migrates itself; PostgreSQL refuses an old schema so replicas never race
to migrate) → ingest writer → worker → scheduler, and the reverse on shutdown, after uvicorn has
finished the requests in flight, so every 202 already answered is committed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from bot.config import Settings
from bot.jobs.handlers import make_handler
from bot.jobs.scheduler import Scheduler
from bot.jobs.scheduler import start as start_scheduler
from bot.jobs.worker import Handler, Worker
from bot.logging import get_logger
from bot.metrics import QUEUE_DEPTH, QUEUE_OLDEST_AGE
from bot.platforms.registry import PLATFORMS
from bot.secrets import apply_stored, open_store, parse_keys
from bot.setup.routes import Setup
from bot.store import migrate, queue
from bot.store.db import is_sqlite, make_engine
from bot.store.models import utcnow
from bot.webhooks.ingest import Ingestor
from bot.webhooks.routes import Receiver

log = get_logger(__name__)


def check_webhook_settings(settings: Settings) -> list[str]:
    """Problems that should stop start-up (SettingsError) or be warned about (returned)."""
    return [line for spec in PLATFORMS.values() for line in spec.check_settings(settings)]


def prepare_schema(engine: Engine) -> None:
    """SQLite: migrate now. PostgreSQL: raise SchemaOutdated unless `readiness migrate` ran."""
    if migrate.schema_is_current(engine):
        return
    if not is_sqlite(engine):
        migrate.ensure_schema(engine, auto_migrate=False)  # raises SchemaOutdated with the fix
        return
    before, after = migrate.upgrade_engine(engine)
    log.info("database migrated", from_revision=before, to_revision=after)


def _update_queue_gauges(engine: Engine) -> None:
    depth, age = queue.stats(engine, now=utcnow())
    QUEUE_DEPTH.set(depth)
    QUEUE_OLDEST_AGE.set(age)


class Services:
    """The worker and scheduler of this process (either may be off for split deployments)."""

    def __init__(
        self, settings: Settings, engine: Engine, *, start_worker: bool, start_scheduler: bool
    ) -> None:
        self.settings, self.engine = settings, engine
        self.start_worker, self.start_scheduler = start_worker, start_scheduler
        self.worker: Worker | None = None
        self.scheduler: Scheduler | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, dispatcher: Handler | None) -> None:
        self._stop.clear()
        if self.start_worker:
            handler = dispatcher or make_handler(self.settings, self.engine)
            self.worker = Worker(self.engine, handler, self.settings)
            self._task = asyncio.create_task(self.worker.run(self._stop), name="worker")
        if self.start_scheduler:
            self.scheduler = start_scheduler(self.settings, self.engine, on_enqueue=self.notify)

    def notify(self, _count: int = 1) -> None:
        """New deliveries were committed: wake the local worker instead of waiting for its poll."""
        if self.worker is not None:
            self.worker.notify()

    async def stop(self) -> None:
        """Stop taking new work; the worker finishes or releases its jobs in flight."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)  # in the loop: APScheduler's asyncio timer is not thread-safe
            self.scheduler = None
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        self.worker = None


class ReadinessApp(FastAPI):
    """FastAPI, except that `POST /webhooks/*` goes straight to the receiver, past FastAPI's
    middleware (telemetry, error pages, router): the hot path does only its own work. The same
    endpoints are also registered as routes, so other methods get the usual 405."""

    webhook_endpoints: dict[str, Callable[[Request], Awaitable[Response]]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.webhook_endpoints.get(scope["path"])
            if endpoint is not None:
                try:
                    response = await endpoint(Request(scope, receive))
                except Exception:
                    log.exception("webhook handler failed")
                    response = JSONResponse({"status": "error"}, status_code=500)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    start_worker: bool = True,
    start_scheduler: bool = True,
    dispatcher: Handler | None = None,
    setup_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The ASGI app. `engine` (tests) is used as given and not disposed; `dispatcher` is handed
    to the worker (None: the default handlers)."""
    warnings = check_webhook_settings(settings)
    if settings.encryption_key is not None:
        parse_keys(settings.encryption_key.get_secret_value())  # SettingsError naming the setting
    owns_engine = engine is None
    db = (
        engine if engine is not None else make_engine(settings.database_url, jobs=settings.worker_concurrency)
    )
    services = Services(settings, db, start_worker=start_worker, start_scheduler=start_scheduler)
    ingestor = Ingestor(db, on_commit=services.notify)
    receiver = Receiver(settings, ingestor)
    setup = Setup(settings, transport=setup_transport)

    async def reconfigure(effective: Settings) -> None:
        """Use stored credentials (start-up, or an App the setup flow just created)."""
        receiver.configure(effective)
        if services.settings is not effective:
            await services.stop()
            services.settings = effective
            await services.start(dispatcher)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for line in warnings:
            log.warning(line)
        await asyncio.to_thread(prepare_schema, db)
        store = await asyncio.to_thread(open_store, settings, db)  # SettingsError: missing/wrong key
        effective = await asyncio.to_thread(apply_stored, settings, store)
        receiver.configure(effective)
        for spec in PLATFORMS.values():
            if store is not None and spec.stored_secrets is not None:
                receiver.reload_from(spec.name, functools.partial(spec.stored_secrets, settings, store))
        services.settings = effective
        setup.start(store, effective, reconfigure)
        await ingestor.start()
        await services.start(dispatcher)
        app.state.ready = True
        log.info("readiness-bot started", worker=start_worker, scheduler=start_scheduler)
        try:
            yield
        finally:
            app.state.ready = False
            await ingestor.stop()  # uvicorn has finished the requests in flight: commit their rows
            await services.stop()
            if owns_engine:
                db.dispose()
            log.info("readiness-bot stopped")

    app = ReadinessApp(
        title="readiness-bot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.engine, app.state.ingestor, app.state.services, app.state.ready = db, ingestor, services, False
    app.webhook_endpoints = {f"/webhooks/{name}": receiver.endpoint(name) for name in receiver.platforms}
    for path, endpoint in app.webhook_endpoints.items():
        app.add_route(path, endpoint, methods=["POST"])

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        reason = (
            "shutting down"
            if not request.app.state.ready
            else await asyncio.to_thread(migrate.database_problem, db)
        )
        if reason:
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(_request: Request) -> Response:
        try:
            await asyncio.to_thread(_update_queue_gauges, db)
        except Exception as exc:  # still serve the process metrics when the database is down
            log.warning("queue metrics unavailable", error=type(exc).__name__)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/healthz", healthz, methods=["GET"])
    app.add_route("/readyz", readyz, methods=["GET"])
    app.add_route("/metrics", metrics, methods=["GET"])
    app.add_route("/setup", setup.page, methods=["GET"])
    app.add_route("/github/manifest/callback", setup.callback, methods=["GET"])
    app.state.setup = setup
    return app
