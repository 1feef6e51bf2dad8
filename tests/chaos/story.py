"""What happens on the platform in one seeded chaos run (platform-neutral: each platform's side,
`chaos.github_side` / `chaos.gitlab_side`, makes a step true on its fake and builds the webhook).

A story is a list of `Step`s (pushes, CI results, a person ticking a box, a person posting a
`/readiness` command). Steps are chosen so the right end state does not depend on the order
the bot hears about them or on how far it got when a person looks: people tick manual items
only, each at most once, commands name other items than ticks, each command is posted once,
and the regression policy is `untick` (the `reopen` comment would depend on which intermediate
commits the bot happened to see, which coalescing legitimately skips).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

SECRET = "chaos-webhook-secret-0123456789abcdef"
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
    """One webhook as the platform would send (and resend) it: a redelivery keeps `id`; the
    platform's side turns it into headers (signature, event name, delivery id) when it is sent."""

    event: str
    body: bytes
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
