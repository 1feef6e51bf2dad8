"""Logs of a full run (signed delivery in, stored, processed) carry context and never secrets."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings, load_settings
from bot.jobs.worker import Worker
from bot.logging import REDACTED, Redactor, configure_logging, get_logger
from bot.platforms.github.verify import github_signature
from bot.store.models import Delivery
from bot.webhooks.verify import standard_signature

GH_SECRET = "gh-secret-do-not-log-7f3a"
GL_TOKEN = "gl-token-do-not-log-91b2"
GL_KEY = b"k" * 32
GL_WHSEC = "whsec_" + base64.b64encode(GL_KEY).decode()
API_TOKEN = "glpat-api-token-do-not-log-55c1"
FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"


@pytest.fixture
def captured(db_url: str) -> Iterator[tuple[Settings, io.StringIO]]:
    settings = load_settings(
        database_url=db_url,
        github_webhook_secret=GH_SECRET,
        gitlab_webhook_secret=GL_TOKEN,
        gitlab_signing_secret=GL_WHSEC,
        gitlab_token=API_TOKEN,
        log_level="DEBUG",
        max_attempts=3,
        retry_base_seconds=0.001,
        retry_max_seconds=0.001,
    )
    out = io.StringIO()
    configure_logging(settings, stream=out)
    try:
        yield settings, out
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_full_run_logs_carry_delivery_context_and_no_secrets(
    captured: tuple[Settings, io.StringIO], engine: Engine
) -> None:
    settings, out = captured
    job_log = get_logger("tests.handler")
    calls: list[str] = []

    async def handler(delivery: Delivery) -> None:
        calls.append(delivery.delivery_id)
        job_log.info(
            "calling the platform", authorization=f"Bearer {API_TOKEN}", headers={"private-token": API_TOKEN}
        )
        logging.getLogger("some.library").info("request sent with token %s", API_TOKEN)  # a careless library
        if len(calls) == 1:
            raise RuntimeError(f"401 Unauthorized for token {API_TOKEN}")

    gh_body = (FIXTURES / "github" / "push.with-new-branch.payload.json").read_bytes()
    gh_sig = github_signature(GH_SECRET, gh_body)
    gl_body = (FIXTURES / "gitlab" / "push.json").read_bytes()
    stamp = str(int(time.time()))
    gl_sig = standard_signature(GL_KEY, "gl-msg-1", stamp, gl_body)
    app = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        headers = {
            "x-github-event": "push",
            "x-github-delivery": "gh-delivery-1",
            "x-hub-signature-256": gh_sig,
        }
        assert (await http.post("/webhooks/github", content=gh_body, headers=headers)).status_code == 202
        gl_headers = {
            "x-gitlab-event": "Push Hook",
            "x-gitlab-token": GL_TOKEN,
            "webhook-id": "gl-msg-1",
            "webhook-timestamp": stamp,
            "webhook-signature": gl_sig,
        }
        assert (await http.post("/webhooks/gitlab", content=gl_body, headers=gl_headers)).status_code == 202
        bad = headers | {"x-hub-signature-256": github_signature("wrong", gh_body), "x-github-delivery": "x"}
        assert (await http.post("/webhooks/github", content=gh_body, headers=bad)).status_code == 401

        worker = Worker(engine, handler, settings)
        assert await worker.run_once() == 2  # the first attempt fails and is retried later
        await _wait_due(engine)
        assert await worker.run_once() == 1

    text = out.getvalue()
    for secret in (GH_SECRET, GL_TOKEN, GL_WHSEC, GL_WHSEC.removeprefix("whsec_"), API_TOKEN, gh_sig, gl_sig):
        assert secret not in text, f"{secret[:12]}… leaked into the logs"
    assert gh_sig.removeprefix("sha256=") not in text and gl_sig.removeprefix("v1,") not in text

    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    job_lines = [
        line for line in lines if line.get("logger") in ("tests.handler", "some.library", "bot.jobs.worker")
    ]
    job_lines = [line for line in job_lines if line["event"] not in ("worker started", "worker stopped")]
    assert len(job_lines) >= 8
    for line in job_lines:
        assert line.get("delivery_id") in ("gh-delivery-1", "gl-msg-1"), line
        assert line.get("repo") in ("github:Codertocat/Hello-World", "gitlab:mike/diaspora"), line
    calling = [line for line in lines if line["event"] == "calling the platform"]
    assert calling and all(
        c["authorization"] == REDACTED and c["headers"] == {"private-token": REDACTED} for c in calling
    )
    assert any("retry" in line["event"] and REDACTED in line.get("error", "") for line in lines)
    assert any(line["event"] == "webhook rejected" and line["status"] == 401 for line in lines)
    accepted = {line["delivery_id"] for line in lines if line["event"] == "webhook accepted"}
    assert accepted == {"gh-delivery-1", "gl-msg-1"}  # DEBUG level: the receiver logs each one


async def _wait_due(engine: Engine) -> None:
    """The retry is due within a millisecond; poll the row, not the clock."""
    import asyncio

    from sqlmodel import Session, select

    from bot.store.models import utcnow

    for _ in range(1000):
        with Session(engine) as session:
            row = session.exec(select(Delivery).where(Delivery.status == "pending")).first()
        if row is not None and row.next_attempt_at <= utcnow():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the retry never became due")


def test_redactor_masks_sensitive_keys_and_known_values() -> None:
    redact = Redactor(["s3cr3t-value"])
    event = {
        "event": "request failed: s3cr3t-value rejected",
        "headers": {"X-Hub-Signature-256": "sha256=abc", "X-Gitlab-Token": "t", "Accept": "json"},
        "webhook-signature": "v1,abc",
        "password": "hunter2",
        "items": [{"private_key": "-----BEGIN"}, "s3cr3t-value"],
        "token_present": False,
        "count": 3,
    }
    assert redact(None, "info", event) == {
        "event": f"request failed: {REDACTED} rejected",
        "headers": {"X-Hub-Signature-256": REDACTED, "X-Gitlab-Token": REDACTED, "Accept": "json"},
        "webhook-signature": REDACTED,
        "password": REDACTED,
        "items": [{"private_key": REDACTED}, REDACTED],
        "token_present": False,
        "count": 3,
    }


def test_console_format_is_human_readable(db_url: str) -> None:
    out = io.StringIO()
    configure_logging(load_settings(database_url=db_url, log_format="console"), stream=out)
    try:
        get_logger("x").info("hello", delivery_id="d-1")
        logging.getLogger("uvicorn.error").info("Started server process")
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    first, second = out.getvalue().splitlines()
    assert "hello" in first and "delivery_id=d-1" in first and not first.startswith("{")
    assert "Started server process" in second


def test_database_password_is_masked_wherever_it_appears() -> None:
    from bot.logging import configured_secrets

    settings = load_settings(database_url="postgresql+psycopg://bot:pg-pass-w0rd@db:5432/readiness")
    out = io.StringIO()
    configure_logging(settings, stream=out)
    try:
        get_logger("x").error("connect failed", dsn="postgresql://bot:pg-pass-w0rd@db/readiness")
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    assert "pg-pass-w0rd" in configured_secrets(settings)
    assert "pg-pass-w0rd" not in out.getvalue() and "bot:[REDACTED]@db" in out.getvalue()
