"""Operations endpoints and start-up rules of the app (both databases)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.config import Settings, SettingsError, load_settings
from bot.logging import configure_logging
from bot.platforms.github.verify import github_signature
from bot.store.db import make_engine
from bot.store.migrate import SchemaOutdated, head_revision

SECRET = "app-test-secret-42"
PUSH = (Path(__file__).parent / "fixtures/webhooks/github/push.with-new-branch.payload.json").read_bytes()


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        yield http


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(database_url=db_url, github_webhook_secret=SECRET)


def app_for(settings: Settings, engine: Engine | None = None) -> FastAPI:
    return create_app(settings, engine=engine, start_worker=False, start_scheduler=False)


async def push(http: httpx.AsyncClient, delivery: str) -> httpx.Response:
    headers = {
        "x-github-event": "push",
        "x-github-delivery": delivery,
        "x-hub-signature-256": github_signature(SECRET, PUSH),
    }
    return await http.post("/webhooks/github", content=PUSH, headers=headers)


async def test_healthz_and_readyz(settings: Settings, engine: Engine) -> None:
    async with serve(app_for(settings, engine)) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_schema_is_not_current(settings: Settings, engine: Engine) -> None:
    async with serve(app_for(settings, engine)) as http:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        try:
            resp = await http.get("/readyz")
        finally:
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head_revision()})
    assert resp.status_code == 503
    assert resp.json() == {
        "status": "unavailable",
        "reason": "database schema is not current: run `readiness migrate`",
    }


async def test_metrics_after_deliveries(settings: Settings, engine: Engine) -> None:
    labels = {"platform": "github", "event": "push", "outcome": "accepted"}
    before = REGISTRY.get_sample_value("readiness_webhooks_total", labels) or 0.0
    async with serve(app_for(settings, engine)) as http:
        assert (await push(http, "m-1")).status_code == 202
        assert (await push(http, "m-2")).status_code == 202
        assert (await push(http, "m-2")).status_code == 200
        resp = await http.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    lines = resp.text.splitlines()
    assert "readiness_queue_depth 2.0" in lines
    assert any(line.startswith("readiness_queue_oldest_pending_age_seconds ") for line in lines)
    assert REGISTRY.get_sample_value("readiness_webhooks_total", labels) == before + 2
    assert 'readiness_webhooks_total{event="push",outcome="duplicate",platform="github"}' in resp.text


async def test_sqlite_database_is_migrated_on_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    async with serve(app_for(load_settings(database_url=url, github_webhook_secret=SECRET))) as http:
        assert (await http.get("/readyz")).status_code == 200
        assert (await push(http, "first")).status_code == 202
    engine = make_engine(url)
    try:
        assert "deliveries" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    url = os.environ.get("READINESS_TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL-only: set READINESS_TEST_DATABASE_URL")
    schema = f"readiness_empty_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(admin.url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def test_postgres_refuses_to_start_on_an_old_schema(empty_postgres_url: str) -> None:
    app = app_for(load_settings(database_url=empty_postgres_url, github_webhook_secret=SECRET))
    with pytest.raises(SchemaOutdated, match=r"database schema is at .*: run `readiness migrate`"):
        async with app.router.lifespan_context(app):
            pass
    engine = make_engine(empty_postgres_url)
    try:
        assert inspect(engine).get_table_names() == []  # it did not migrate by itself
    finally:
        engine.dispose()


def test_malformed_signing_secret_stops_start_up(db_url: str) -> None:
    settings = load_settings(database_url=db_url, gitlab_signing_secret="whsec_***")
    with pytest.raises(SettingsError, match="READINESS_GITLAB_SIGNING_SECRET: expected whsec_"):
        app_for(settings)


async def test_missing_secrets_are_warned_about_at_start(db_url: str, engine: Engine) -> None:
    settings = load_settings(database_url=db_url, log_format="json")
    out = io.StringIO()
    configure_logging(settings, stream=out)
    try:
        async with serve(app_for(settings, engine)):
            pass
    finally:
        logging.getLogger().handlers.clear()
    warnings = [json.loads(line) for line in out.getvalue().splitlines()]
    messages = [w["event"] for w in warnings if w["level"] == "warning"]
    assert any("READINESS_GITHUB_WEBHOOK_SECRET is not set" in m for m in messages)
    assert any("every POST /webhooks/gitlab will be refused" in m for m in messages)


async def test_worker_in_the_app_processes_what_the_receiver_stored(
    settings: Settings, engine: Engine
) -> None:
    """The full `readiness serve` shape: receiver, worker (woken by the commit) and scheduler."""
    from sqlmodel import Session, select

    from bot.jobs.handlers import Dispatcher
    from bot.store.models import Delivery, Installation

    processed = asyncio.Event()
    record = Dispatcher(engine)

    async def handler(delivery: Delivery) -> None:
        await record(delivery)
        processed.set()

    body = (Path(__file__).parent / "fixtures/webhooks/github/installation.created.payload.json").read_bytes()
    headers = {
        "x-github-event": "installation",
        "x-github-delivery": "inst-1",
        "x-hub-signature-256": github_signature(SECRET, body),
    }
    settings = settings.model_copy(update={"poll_interval_seconds": 3600.0})  # only notify() can wake it
    app = create_app(settings, engine=engine, dispatcher=handler)
    async with serve(app) as http:
        assert app.state.services.scheduler is not None
        assert (await http.post("/webhooks/github", content=body, headers=headers)).status_code == 202
        await asyncio.wait_for(processed.wait(), timeout=10)
    with Session(engine) as session:
        [inst] = session.exec(select(Installation)).all()
        [delivery] = session.exec(select(Delivery)).all()
    assert (inst.installation_id, inst.account) == (957387, "Codertocat")
    assert delivery.status == "done"


def test_serve_with_a_bad_setting_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import _register, app

    _register()
    env = {"READINESS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "READINESS_MAX_BODY_BYTES": "lots"}
    result = CliRunner().invoke(app, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("readiness: READINESS_MAX_BODY_BYTES: Input should be a valid integer")


def test_serve_refuses_an_old_postgres_schema_in_one_line(empty_postgres_url: str) -> None:
    from typer.testing import CliRunner

    from bot.cli import _register, app

    _register()
    result = CliRunner().invoke(
        app, ["serve", "--port", "1"], env={"READINESS_DATABASE_URL": empty_postgres_url}
    )
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("{")]  # not log records
    assert line.startswith("readiness: database schema is at") and line.endswith("run `readiness migrate`")


def test_serve_process_stores_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "READINESS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "READINESS_GITHUB_WEBHOOK_SECRET": SECRET,
    }
    exe = str(Path(sys.executable).with_name("readiness"))
    cmd = [exe, "serve", "--port", str(port), "--no-worker", "--no-scheduler"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # start-up migrates the fresh SQLite file, then uvicorn listens
            if "Application startup complete" in line:
                break
        else:
            pytest.fail(f"serve exited with {proc.wait()} before listening")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/healthz").status_code == 200
            headers = {
                "x-github-event": "push",
                "x-github-delivery": "live-1",
                "x-hub-signature-256": github_signature(SECRET, PUSH),
            }
            assert http.post("/webhooks/github", content=PUSH, headers=headers).status_code == 202
    except BaseException:
        proc.kill()
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0  # a completed graceful stop is a success, not "killed" (143)
    logs = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    assert [entry["event"] for entry in logs if entry["logger"] == "bot.app"][-1] == "readiness-bot stopped"
    engine = make_engine(env["READINESS_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT delivery_id FROM deliveries")).scalars().all() == ["live-1"]
    finally:
        engine.dispose()
