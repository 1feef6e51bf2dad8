"""What happens on GitHub in one seeded chaos run, and the signed webhooks each happening sends.

A story is a list of `Step`s (pushes, CI results, a person ticking a box, a person posting a
`/readiness` command). Steps are chosen so the right end state does not depend on the order
the bot hears about them or on how far it got when a person looks: people tick manual items
only, each at most once, commands name other items than ticks, each command is posted once,
and the regression policy is `untick` (the `reopen` comment would depend on which intermediate
commits the bot happened to see, which coalescing legitimately skips).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platforms.fake_github import INSTALLATION_ID, FakeGitHub

from bot.core import tracker
from bot.core.snapshot import SUCCESS, CIResult
from bot.platforms.github.verify import github_signature

SECRET = "chaos-webhook-secret-0123456789abcdef"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "github"
TEMPLATE_PATH = ".github/readiness/service.yml"
TEMPLATE = """\
id: service
title: Service basics
version: 1
sections:
  - id: build
    title: Build and delivery
    items:
      - {id: container, title: Container image, why: it matters, evidence: {files: [Dockerfile]}}
      - {id: ci-tests, title: Tests run in CI, why: it matters, evidence: {ci: ["test*"]}}
      - {id: sbom, title: SBOM published, why: it matters, evidence: {files: [sbom.json]}}
  - id: operations
    title: Operations
    items:
      - {id: runbook, title: Runbook, why: it matters, evidence: {files: ["docs/runbooks/"]}}
      - {id: oncall, title: On-call rota agreed, why: it matters, manual: true}
      - {id: slo, title: SLOs written down, why: it matters, manual: true}
      - {id: backups, title: Backups restored once, why: it matters, manual: true}
      - {id: pager, title: Pager tested, why: it matters, manual: true}
"""
CONFIG = f"checklists:\n  - path: {TEMPLATE_PATH}\non_regression: untick\n"
OPTIONAL = ("Dockerfile", "sbom.json", "docs/runbooks/db.md")  # files a push may add or remove
SECTION = {
    "container": "build",
    "sbom": "build",
    "runbook": "operations",
    "oncall": "operations",
    "slo": "operations",
    "ci-tests": "build",
    "backups": "operations",
    "pager": "operations",
}
COMMANDS = (
    "/readiness skip slo not a user-facing service",
    "/readiness done pager tested on Monday",
    "/readiness status",
)


@dataclass(frozen=True)
class Step:
    kind: str  # push | ci | tick | command
    head: str = ""  # push: the new commit
    files: frozenset[str] = frozenset()  # push: which OPTIONAL files the commit has
    item: str = ""  # tick: the item a person ticks
    text: str = ""  # command: the comment body
    by: str = "hubot"


def make_story(seed: int) -> list[Step]:
    rng = random.Random(seed)
    present = {f for f in OPTIONAL if rng.random() < 0.5}
    steps = [Step("push", head=f"{seed % 65536:04x}{1:036x}", files=frozenset(present))]
    # people tick manual items only: whether an automatic box is still open when a person looks
    # depends on how far the bot got, so the story would differ between the two plays
    ticks = ["oncall", "backups"]
    commands = list(COMMANDS)
    for n in range(2, 2 + rng.randint(5, 9)):
        kind = rng.choice(["push", "push", "ci", "tick", "command"])
        if kind == "push":
            present ^= {rng.choice(OPTIONAL)}
            steps.append(Step("push", head=f"{seed % 65536:04x}{n:036x}", files=frozenset(present)))
        elif kind == "ci":
            steps.append(Step("ci"))
        elif kind == "tick" and ticks:
            steps.append(Step("tick", item=ticks.pop(rng.randrange(len(ticks))), by="octocat"))
        elif kind == "command" and commands:
            steps.append(Step("command", text=commands.pop(rng.randrange(len(commands)))))
    return steps


def files_for(step: Step) -> dict[str, str]:
    files = {".readiness.yml": CONFIG, TEMPLATE_PATH: TEMPLATE, "README.md": "# widgets\n"}
    files.update({f: f"content of {f}\n" for f in step.files})
    return files


@dataclass
class Delivery:
    """One signed webhook, as GitHub would send (and resend) it."""

    event: str
    body: bytes
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def headers(self) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "x-github-event": self.event,
            "x-github-delivery": self.id,
            "x-hub-signature-256": github_signature(SECRET, self.body),
            "user-agent": "GitHub-Hookshot/chaos",
        }


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _common(fake: FakeGitHub, payload: dict[str, Any], sender: str = "octocat") -> dict[str, Any]:
    owner, name = fake.full_name.split("/")
    repo = _fixture("push.with-new-branch.payload.json")["repository"]
    repo.update(full_name=fake.full_name, name=name, default_branch="main", master_branch="main", id=1296269)
    repo["owner"].update(login=owner, name=owner)
    payload.update(
        repository=repo, installation={"id": INSTALLATION_ID, "node_id": "MDIzOkluc3RhbGxhdGlvbjQyNDI="}
    )
    payload["sender"].update(login=sender, type="User")
    return payload


def section_issue(fake: FakeGitHub, item: str) -> dict[str, Any] | None:
    key = tracker.section_key("service", SECTION[item])
    return next(
        (
            i
            for i in fake.issues.values()
            if tracker.key_from_body(i.get("body")) == key and "pull_request" not in i
        ),
        None,
    )


def happen(fake: FakeGitHub, step: Step) -> Delivery | None:
    """Make `step` true on the fake GitHub; return the webhook it sends (None: nothing to do,
    e.g. a box that is already ticked)."""
    if step.kind == "push":
        before = fake.spec.head
        fake.push(step.head, files_for(step))
        p = _fixture("push.with-new-branch.payload.json")
        p.update(ref="refs/heads/main", before=before, after=step.head, created=False)
        p["head_commit"]["id"] = step.head
        return Delivery("push", json.dumps(_common(fake, p)).encode())
    if step.kind == "ci":
        head = fake.spec.head
        fake.push(head, {p: c.decode() for p, c in fake.spec.files.items()}, ci=(CIResult("tests", SUCCESS),))
        p = _fixture("check_run.completed.payload.json")
        p["check_run"].update(name="tests", head_sha=head, conclusion="success", status="completed")
        p["check_run"]["check_suite"].update(head_sha=head, head_branch="main")
        return Delivery("check_run", json.dumps(_common(fake, p)).encode())
    issue = section_issue(fake, step.item or "slo")
    assert issue is not None, "a person acts only on an issue they can see"
    if step.kind == "tick":
        previous = issue["body"]
        box = re.compile(rf"^- \[ \] (?=<!-- readiness:item service/{re.escape(step.item)}[ ])", re.M)
        if not box.search(previous):
            return None  # already ticked (by evidence): the person has nothing to do
        fake.edit_issue_as(step.by, issue["number"], box.sub("- [x] ", previous, count=1))
        p = _fixture("issues.edited.payload.json")
        p["issue"] = json.loads(json.dumps(issue))
        p["changes"] = {"body": {"from": previous}}
        return Delivery("issues", json.dumps(_common(fake, p, step.by)).encode())
    comment = fake._new_comment(issue["number"], step.text, step.by)
    p = _fixture("issue_comment.created.with-installation.payload.json")
    p.update(action="created", issue=json.loads(json.dumps(issue)), comment=json.loads(json.dumps(comment)))
    return Delivery("issue_comment", json.dumps(_common(fake, p, step.by)).encode())
