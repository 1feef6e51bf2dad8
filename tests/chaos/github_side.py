"""GitHub's side of the Faults suite: the stateful REST fake behind respx with faults injected,
signed `X-Hub-Signature-256` deliveries, story steps as GitHub webhooks, and what a user sees.

Faults (keyed by the index of the request the bot makes to GitHub): 502 or a read timeout before
GitHub applied the request or after (the answer is lost), a secondary rate limit (403 with
`retry-after`), a 429, the installation token revoked (401, then the bot mints a new one), the
database connections dropped, and the worker killed at that request (before or after GitHub
applied it). Everything runs on the event loop (httpx), so a seed replays exactly.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import respx
from platforms.contract import SPEC, SeedIssue
from platforms.fake_github import APP_ID, INSTALLATION_ID, FakeGitHub

from bot.config import Settings, load_settings
from bot.core import tracker
from bot.core.snapshot import SUCCESS, CIResult
from bot.platforms.github.client import GitHubClient
from bot.platforms.github.verify import github_signature
from bot.platforms.http import RetryPolicy
from chaos.story import SECRET, SECTION, Delivery, Step, files_for

if TYPE_CHECKING:
    from chaos.driver import Faults, Run

API = "https://github.test/api/v3"
FAULTS = (
    "502-before",
    "502-after",
    "timeout-before",
    "timeout-after",
    "secondary",
    "429",
    "token",
    "db",
    "kill-before",
    "kill-after",
)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "github"


class FaultyGitHub:
    """The fake GitHub with faults injected at scheduled request indices."""

    def __init__(self, fake: FakeGitHub, faults: Faults, on_db: Callable[[], None]) -> None:
        self.fake, self.faults, self.on_db = fake, faults, on_db
        self.unknown: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.faults.seen += 1
        fault = self.faults.schedule.get(self.faults.seen)
        if fault is None:
            return self._real(request)
        self.faults.injected.append(fault)
        if fault in ("kill-before", "kill-after"):
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # the worker dies at its next await: nothing after this runs
            return self._real(request) if fault == "kill-after" else httpx.Response(502)
        if fault == "502-after" or fault == "timeout-after":
            self._real(request)
        if fault.startswith("502"):
            return httpx.Response(502, json={"message": "Server Error"})
        if fault.startswith("timeout"):
            raise httpx.ReadTimeout("chaos: read timeout", request=request)
        if fault == "secondary":
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            )
            return httpx.Response(
                403,
                json={"message": message, "documentation_url": "https://docs.github.com/rest"},
                headers={"retry-after": "7"},
            )
        if fault == "429":
            return httpx.Response(429, json={"message": "Too many requests"}, headers={"retry-after": "3"})
        if fault == "token":
            self.fake.tokens.clear()  # every installation token is now expired
        if fault == "db":
            self.on_db()
        return self._real(request)

    def _real(self, request: httpx.Request) -> httpx.Response:
        response = self.fake(request)
        if response.status_code == 404 and response.json().get("message") == "Not Found":
            known = any(
                m == request.method and rx.match(p)
                for m, rx, _ in self.fake.routes
                for p in [_path(self.fake, request)]
            )
            if not known:
                self.unknown.append(f"{request.method} {request.url.path}")
        return response


def _path(fake: FakeGitHub, request: httpx.Request) -> str:
    if request.url.path.endswith("/graphql"):
        return "/graphql"
    return request.url.path.removeprefix(httpx.URL(fake.api).path.rstrip("/"))


class GitHubSide:
    """One run's GitHub: a fresh fake with one person's issue, and how the bot talks to it."""

    name = "github"
    faults = FAULTS

    def __init__(self, run: Run, key_pair: tuple[str, str]) -> None:
        self.run, self.private_key = run, key_pair[0]
        spec = replace(
            SPEC,
            files={},
            ci=(),
            labels=(),
            comments=(),
            issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
        )
        self.fake = FakeGitHub(spec, API, public_key=key_pair[1], now=run.clock)
        self.http = FaultyGitHub(self.fake, run.faults, run.drop_connections)

    @property
    def unknown(self) -> list[str]:
        return self.http.unknown

    def requests_made(self) -> int:
        return len(self.fake.log)

    def settings(self, **common: Any) -> Settings:
        return load_settings(
            github_webhook_secret=SECRET,
            github_app_id=APP_ID,
            github_private_key=self.private_key,
            github_api_url=API,
            github_bot_login="readiness-bot[bot]",
            **common,
        )

    def new_client(self, settings: Settings, life: int) -> GitHubClient:
        run = self.run
        return GitHubClient(
            settings,
            clock=run.clock,
            sleep=run.clock.sleep,
            http_cache=False,
            policy=RetryPolicy(base_delay=1.0),
        )

    @contextmanager
    def mounted(self) -> Iterator[None]:
        with respx.mock(base_url=self.fake.host, assert_all_called=False) as router:
            router.route().mock(side_effect=self.http)
            yield

    def headers(self, d: Delivery) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "x-github-event": d.event,
            "x-github-delivery": d.id,
            "x-hub-signature-256": github_signature(SECRET, d.body),
            "user-agent": "GitHub-Hookshot/chaos",
        }

    def has_section(self, item: str) -> bool:
        return section_issue(self.fake, item) is not None

    def happen(self, step: Step) -> Delivery | None:
        return happen(self.fake, step)

    def observe(self) -> dict[str, Any]:
        return observe(self.fake)


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
        box = unticked_box(step.item)
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


def unticked_box(item: str | None) -> re.Pattern[str]:
    """The start of an item's unticked line as the bot writes it, whatever its issue's nonce."""
    return re.compile(rf"^- \[ \] (?=<!-- readiness:item service/{re.escape(item or '')}[ ])", re.M)


def unnumber(body: str, keys: dict[int, str]) -> str:
    """Numbers and times differ between plays, not what they say (the fake clock runs on through
    retries, rate-limit waits and expired leases, so a day shown can differ when the faults made
    the bot wait long; what was decided cannot)."""
    body = re.sub(r"\d{4}-\d\d-\d\d( \d\d:\d\d UTC)?", "<time>", body)
    # so do nonces (salted with the play's own repository row); a line whose nonce is not its
    # issue's would still show
    if nonce := tracker.nonce_of(body):
        body = body.replace(f" n={nonce} -->", " n=<nonce> -->")
    return re.sub(r"#(\d+)", lambda m: "#" + keys.get(int(m.group(1)), m.group(1)), body)


def reply_kind(comment: str) -> str:
    """A status reply's figures depend on when it was asked: compare what each reply is."""
    return re.sub(r"[█░]+|\d+", "#", comment.split("\n", 1)[0])[:60]


def observe(fake: FakeGitHub) -> dict[str, Any]:
    """What a user sees: our issues by marker key (title, state, boxes, labels, body with issue
    numbers replaced by keys), sub-issue links, the bot's comments per issue, its reactions."""
    ours: dict[str, dict[str, Any]] = {}
    keys: dict[int, str] = {}
    for issue in fake.issues.values():
        key = tracker.key_from_body(issue.get("body"))
        if key and "pull_request" not in issue and issue["user"]["login"] == fake.spec.bot_login:
            assert key not in ours, f"duplicate issue for {key}"
            ours[key] = issue
            keys[issue["number"]] = key

    view: dict[str, Any] = {}
    for key, issue in sorted(ours.items()):
        comments = [
            c["body"]
            for c in fake.comments.get(issue["number"], [])
            if c["user"]["login"] == fake.spec.bot_login
        ]
        view[key] = {
            "title": issue["title"],
            "state": issue["state"],
            "boxes": {item: v for (_, item), v in tracker.parse_checkboxes(issue["body"]).items()},
            "labels": sorted(lbl["name"] for lbl in issue["labels"]),
            "body": unnumber(issue["body"], keys),
            "children": sorted(keys.get(n, str(n)) for n in fake.children.get(issue["number"], [])),
            "bot_comments": len(comments),
            "replies": Counter(reply_kind(c) for c in comments),
        }
    bodies = {c["id"]: c["body"] for cs in fake.comments.values() for c in cs}
    view["reactions"] = sorted({(bodies[cid], content) for cid, content in fake.reactions})
    return view
