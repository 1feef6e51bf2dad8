"""End-to-end harness: signed webhooks into the real app, the real worker, real adapters against
stateful fakes of GitHub (respx) and GitLab (`responses`)."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from platforms.contract import SPEC, SeedIssue
from platforms.fake_github import APP_ID, FakeGitHub, app_key_pair
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from bot.jobs.handlers import Dispatcher
from bot.jobs.worker import Worker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"

TEMPLATE = """\
id: service
title: Service basics
version: 1
description: What every service in this organisation needs before production.
sections:
  - id: build
    title: Build and delivery
    items:
      - id: container
        title: Container image
        why: Reproducible deploys
        evidence: {files: [Dockerfile]}
      - id: ci-tests
        title: Tests run in CI
        why: Regressions are caught before merge
        evidence: {ci: ["test*"]}
  - id: operations
    title: Operations
    items:
      - id: runbook
        title: Runbook
        why: On-call knows what to do at 3 am
        evidence: {files: ["docs/runbooks/"]}
      - id: oncall
        title: On-call rota agreed
        why: Someone answers the pager
        manual: true
"""
TEMPLATE_PATH = ".github/readiness/service.yml"
CONFIG = f"checklists:\n  - path: {TEMPLATE_PATH}\n"


def shown(body: str) -> str:
    """A comment as a reader sees it: without the bot's hidden reply marker."""
    return re.sub(r"\n\n<!-- readiness:reply \d+ -->$", "", body)


def tick_box(body: str, key: str, *, ticked: bool = True) -> str:
    """`body` with the bot's box for `key` (checklist/item) ticked or unticked, as a person does in
    the web UI: only the box changes, the line keeps its marker and nonce."""
    was, now = (" ", "x") if ticked else ("x", " ")
    line = re.compile(rf"^- \[{was}\] (?=<!-- readiness:item {re.escape(key)}[ ])", re.MULTILINE)
    return line.sub(f"- [{now}] ", body, count=1)


def base_files(**extra: str) -> dict[str, str]:
    return {".readiness.yml": CONFIG, TEMPLATE_PATH: TEMPLATE, "README.md": "# widgets\n", **extra}


def with_sbom_item(files: dict[str, str]) -> dict[str, str]:
    """The same repository after a template change: a new `sbom` item in the build section."""
    sbom = (
        "      - id: sbom\n        title: SBOM published\n        why: Know what ships\n"
        "        evidence: {files: [sbom.json]}\n  - id: operations"
    )
    return {**files, TEMPLATE_PATH: files[TEMPLATE_PATH].replace("  - id: operations", sbom)}


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / name).read_text())


@pytest.fixture(scope="session")
def rsa_pair() -> tuple[str, str]:
    return app_key_pair()


CLI_API = "https://github.test/api/v3"


@pytest.fixture
def cli_github(rsa_pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """A GitHub (Enterprise-style URL) the `readiness` commands reach through the environment,
    holding one repository with a Dockerfile and the e2e checklist."""
    monkeypatch.setenv("READINESS_GITHUB_APP_ID", str(APP_ID))
    monkeypatch.setenv("READINESS_GITHUB_PRIVATE_KEY", rsa_pair[0])
    monkeypatch.setenv("READINESS_GITHUB_API_URL", CLI_API)
    spec = dataclasses.replace(
        SPEC, files={}, ci=(), labels=(), comments=(), issues=(SeedIssue(1, "Bug", "x", "hubot"),)
    )
    fake = FakeGitHub(spec, CLI_API, public_key=rsa_pair[1])
    fake.push("d" * 40, base_files(Dockerfile="FROM x\n"))
    return fake


class Clock:
    """Wall-clock time plus an offset tests can move forward (retries become due)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


class Bot:
    """The app under test, its worker, and helpers to deliver webhooks like a platform does."""

    def __init__(self, http: httpx.AsyncClient, worker: Worker, clock: Clock) -> None:
        self.http, self.worker, self.clock = http, worker, clock

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post(
            path, content=body, headers={"content-type": "application/json", **headers}
        )

    async def drain(self) -> int:
        """Run the worker until nothing is due (retries scheduled later are not due)."""
        total = 0
        while n := await self.worker.run_once():
            total += n
        return total


@asynccontextmanager
async def running_bot(settings: Settings, engine: Engine, sync: Any, clock: Clock) -> AsyncIterator[Bot]:
    app: FastAPI = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    worker = Worker(engine, Dispatcher(engine, sync=sync), settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        yield Bot(http, worker, clock)


def new_delivery() -> str:
    return str(uuid.uuid4())
