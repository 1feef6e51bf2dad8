"""The small checklist and the helpers the in-memory sync tests share."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Engine

from bot.core import tracker
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.base import Issue
from bot.platforms.memory import MemoryClient, MemoryPlatform

TEMPLATE = """
id: svc
title: Service basics
version: 1
description: A tiny checklist for tests.
sections:
  - id: build
    title: Build
    items:
      - id: container
        title: Container image
        why: Reproducible deploys
        evidence: {files: [Dockerfile]}
      - id: ci-tests
        title: Tests in CI
        why: Catch regressions
        evidence: {ci: ["test*"]}
  - id: ops
    title: Operations
    items:
      - id: runbook
        title: Runbook
        why: On-call knows what to do
        evidence: {files: ["docs/runbooks/"]}
      - id: oncall
        title: On-call rota agreed
        why: Someone answers the pager
        manual: true
"""
CONFIG = "checklists:\n  - svc\n"
REPO = "octo-org/widgets"


def router_world(engine: Engine, now: datetime) -> tuple[MemoryPlatform, Router]:
    """One in-memory GitHub repository with the `svc` template shipped, and the router over it
    with a fixed clock."""
    client = MemoryClient()
    platform = client.add_repo(REPO)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    return platform, Router(engine, {"github": client}, shipped, clock=lambda: now)


def ref() -> RepoRef:
    return RepoRef(Platform("github"), REPO, id=1, installation_id=7, default_branch="main")


def push(commit: str, sender: str | None = "alice") -> Event:
    return Event(
        Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/main", commit=commit, sender=sender
    )


def shown(body: str) -> str:
    """A comment as a reader sees it: without the bot's hidden reply marker."""
    return re.sub(r"\n\n<!-- readiness:reply \d+ -->$", "", body)


def tick_box(body: str, key: str, *, ticked: bool = True) -> str:
    """`body` with the bot's box for `key` (checklist/item) ticked or unticked, as a person does in
    the web UI: only the box changes, the line keeps its marker and nonce."""
    was, now = (" ", "x") if ticked else ("x", " ")
    line = re.compile(rf"^- \[{was}\] (?=<!-- readiness:item {re.escape(key)}[ ])", re.MULTILINE)
    return line.sub(f"- [{now}] ", body, count=1)


def issues_by_key(platform: MemoryPlatform) -> dict[str, Issue]:
    """The bot's issues by their key (epic, section:…); issues without a marker left out."""
    return {key: i for i in platform.issues.values() if (key := tracker.key_from_body(i.body))}


def boxes(issue: Issue) -> dict[str, bool]:
    return {item: checked for (_, item), checked in tracker.parse_checkboxes(issue.body).items()}


def tick_as(platform: MemoryPlatform, login: str, issue: Issue, item: str, *, ticked: bool = True) -> Event:
    """A person (un)ticks one item in the web UI: the edit, and the `issues.edited` webhook it sends."""
    previous = issue.body
    body = tick_box(previous, item, ticked=ticked)
    platform.edit_issue_as(login, issue.number, body)
    return Event(
        Platform("github"),
        Kind.ISSUE_EDITED,
        "issues",
        action="edited",
        repo=ref(),
        sender=login,
        issue_number=issue.number,
        body=body,
        previous_body=previous,
    )


class Clock:
    """A clock the test moves by hand (`clock.now += …`); no test waits for real time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
