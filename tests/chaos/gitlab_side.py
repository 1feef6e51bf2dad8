"""GitLab's side of the Faults suite: the stateful fake of the platform tests with faults injected.

The bot's GitLab client is python-gitlab (requests, faked with `responses`) for REST and a thin
httpx client (faked with respx) for GraphQL, both run in worker threads (`GitLabClient.run`).
`FaultyGitLab` wraps `FakeGitLab` (composition: the fake is built on a `RequestsMock` that is
never started, and the wrapper's callbacks are the ones mounted) and counts REST and GraphQL
requests in one sequence, so a seed's faults land on the same requests each time:

- 502 or a read timeout, before GitLab applied the request or after (the answer is lost);
- a 429 with `Retry-After` and `RateLimit-Remaining: 0` + `RateLimit-Reset` (GitLab's headers);
- the bot's database connections dropped;
- the worker killed at that request, before or after GitLab applied it: the drain is cancelled
  on the event loop (`Run.kill`) and every later request of that worker's threads raises
  `Killed`, so a dead process never reaches GitLab again (each life's HTTP clients carry its
  number in a header).

No expired-token fault here: GitLab has no installation tokens (the bot uses one long-lived
personal/project access token), so there is nothing to expire and mint again mid-run.

Deliveries carry both the secret token (`X-Gitlab-Token`) and a Standard Webhooks signature
(`webhook-id`/`webhook-timestamp`/`webhook-signature`, as `bot.platforms.gitlab.verify` checks
them); a redelivery keeps `Idempotency-Key`, `webhook-id` and `X-Gitlab-Event-UUID`. The worker
runs one job at a time here (`worker_concurrency=1`): jobs run in threads, and two threads
racing for the fake would make the request order, hence a seed's faults, irreproducible.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import requests
import responses
import respx
from platforms.contract import SPEC, SeedIssue
from platforms.gitlab_fake import API, BASE, PROJECT_ID, FakeGitLab, Reply

from bot.config import Settings, load_settings
from bot.core import tracker
from bot.platforms.gitlab.client import GitLabClient
from bot.platforms.http import RetryPolicy
from bot.webhooks.verify import signing_key, standard_signature
from chaos.github_side import reply_kind, unnumber, unticked_box
from chaos.story import SECTION, Delivery, Step, files_for

if TYPE_CHECKING:
    from chaos.driver import Run

TOKEN = "chaos-gitlab-hook-token-0123456789abcdef"
SIGNING = "whsec_" + base64.b64encode(b"chaos-gitlab-signing-key-32bytes").decode()
BOT = "readiness-bot"
LIFE = "x-chaos-life"  # which worker life sent a request (a test header, never sent by the bot)
FAULTS = (
    "502-before",
    "502-after",
    "timeout-before",
    "timeout-after",
    "429",
    "db",
    "kill-before",
    "kill-after",
)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "gitlab"


class Killed(BaseException):
    """The worker process is dead: a thread of it stops at its next request (a BaseException so
    no `except Exception` in the bot or the libraries mistakes it for a failed request)."""


class FaultyGitLab:
    """The fake GitLab (REST and GraphQL) with faults injected at scheduled request indices.

    Requests come from worker threads; one lock keeps the fake's state and the count consistent
    (the story's own edits to the fake take it too)."""

    def __init__(self, fake: FakeGitLab, run: Run) -> None:
        self.fake, self.run = fake, run
        self.lock = threading.Lock()
        self.unknown: list[str] = []

    def _next(self, life: str | None) -> str | None:
        """The fault for this request (None: answer normally); a dead life's request dies."""
        if life is None or int(life) <= self.run.dead:
            raise Killed
        faults = self.run.faults
        faults.seen += 1
        fault = faults.schedule.get(faults.seen)
        if fault is not None:
            faults.injected.append(fault)
        return fault

    def _rate_limited(self) -> dict[str, str]:
        reset = int(self.run.clock.now) + 3
        return {"Retry-After": "3", "RateLimit-Limit": "2000", "RateLimit-Observed": "2001",
                "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset),
                "RateLimit-ResetTime": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(reset))}  # fmt: skip

    def rest(self, request: requests.PreparedRequest) -> Reply:
        """`responses` callback for python-gitlab's requests."""
        with self.lock:
            fault = self._next(request.headers.get(LIFE))
            if fault is None or fault == "db":
                if fault == "db":
                    self.run.drop_connections()
                return self._real(request)
            if fault.startswith("kill"):
                self.run.kill()
                if fault == "kill-after":
                    self._real(request)
                raise Killed
            if fault.endswith("-after"):
                self._real(request)
            if fault.startswith("502"):
                return 502, {"Content-Type": "application/json"}, json.dumps({"message": "502 Bad Gateway"})
            if fault.startswith("timeout"):
                raise requests.ReadTimeout("chaos: read timeout")
            assert fault == "429", fault
            body = json.dumps({"message": "Retry later"})
            return 429, {"Content-Type": "application/json", **self._rate_limited()}, body

    def graphql(self, request: httpx.Request) -> httpx.Response:
        """respx side effect for the GraphQL client (httpx)."""
        with self.lock:
            fault = self._next(request.headers.get(LIFE))
            if fault is None or fault == "db":
                if fault == "db":
                    self.run.drop_connections()
                return self.fake.graphql(request)
            if fault.startswith("kill"):
                self.run.kill()
                if fault == "kill-after":
                    self.fake.graphql(request)
                raise Killed
            if fault.endswith("-after"):
                self.fake.graphql(request)
            if fault.startswith("502"):
                return httpx.Response(502, json={"message": "502 Bad Gateway"})
            if fault.startswith("timeout"):
                raise httpx.ReadTimeout("chaos: read timeout", request=request)
            assert fault == "429", fault
            return httpx.Response(429, headers=self._rate_limited(), json={"message": "Retry later"})

    def _real(self, request: requests.PreparedRequest) -> Reply:
        reply = self.fake._serve(request)
        assert not isinstance(reply, Exception), reply  # canned errors are the wrapper's job here
        status, _, payload = reply
        if status == 404 and isinstance(payload, str) and json.loads(payload) == {"message": "404 Not Found"}:
            path = (request.path_url or "").split("?")[0].removeprefix("/api/v4")
            if not any(m == request.method and rx.fullmatch(path) for m, rx, _ in self.fake.routes):
                self.unknown.append(f"{request.method} {path}")
        return reply


class GitLabSide:
    """One run's GitLab: a fresh project with one person's issue, child tasks by GraphQL."""

    name = "gitlab"
    faults = FAULTS

    def __init__(self, run: Run) -> None:
        self.run = run
        spec = replace(
            SPEC,
            bot_login=BOT,
            files={},
            ci=(),
            labels=(),
            comments=(),
            issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
        )
        # built on a RequestsMock that is never started: the wrapper's callbacks answer instead
        self.fake = FakeGitLab(spec, responses.RequestsMock(assert_all_requests_are_fired=False))
        self.fake.pipelines.clear()
        self.fake.external.clear()
        self.http = FaultyGitLab(self.fake, run)
        self.ci_steps = 0  # CI results alternate between Pipeline Hooks and Job Hooks

    @property
    def unknown(self) -> list[str]:
        return self.http.unknown

    def requests_made(self) -> int:
        return len(self.fake.requests) + len(self.fake.graphql.operations)

    def settings(self, **common: Any) -> Settings:
        return load_settings(
            **{**common, "worker_concurrency": 1},
            gitlab_webhook_secret=TOKEN,
            gitlab_signing_secret=SIGNING,
            gitlab_url=BASE,
            gitlab_token="glpat-chaos-token",
            gitlab_hierarchy="auto",
        )

    def new_client(self, settings: Settings, life: int) -> GitLabClient:
        run = self.run
        session = requests.Session()
        session.headers[LIFE] = str(life)
        client = GitLabClient(
            settings,
            session=session,
            clock=run.clock,
            sleep=run.clock.sleep,
            policy=RetryPolicy(base_delay=1.0),
        )
        client.graphql._http.headers[LIFE] = str(life)
        return client

    @contextmanager
    def mounted(self) -> Iterator[None]:
        with (
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
            respx.mock(base_url=BASE, assert_all_called=False) as router,
        ):
            for method in ("GET", "POST", "PUT", "DELETE"):
                rsps.add_callback(method, re.compile(re.escape(API) + r"/.*"), callback=self.http.rest)
            router.post("/api/graphql").mock(side_effect=self.http.graphql)
            yield

    def headers(self, d: Delivery) -> dict[str, str]:
        """What GitLab sends: the same ids again on a resend, a fresh timestamp and signature."""
        stamp = str(int(time.time()))
        return {
            "content-type": "application/json",
            "user-agent": "GitLab/18.6.0",
            "x-gitlab-event": d.event,
            "x-gitlab-instance": BASE,
            "x-gitlab-token": TOKEN,
            "x-gitlab-event-uuid": d.id,
            "idempotency-key": d.id,
            "webhook-id": d.id,
            "webhook-timestamp": stamp,
            "webhook-signature": standard_signature(signing_key(SIGNING), d.id, stamp, d.body),
        }

    def section_issue(self, item: str) -> dict[str, Any] | None:
        key = tracker.section_key("service", SECTION[item])
        return next(
            (i for i in self.fake.issues.values() if tracker.key_from_body(i.get("description")) == key), None
        )

    def has_section(self, item: str) -> bool:
        with self.http.lock:
            return self.section_issue(item) is not None

    def happen(self, step: Step) -> Delivery | None:
        with self.http.lock:
            return self._happen(step)

    def _project(self) -> dict[str, Any]:
        project = _fixture("push.json")["project"]
        project.update(
            id=PROJECT_ID,
            name="widgets",
            path_with_namespace=self.fake.path,
            default_branch="main",
            web_url=f"{BASE}/{self.fake.path}",
        )
        return project

    def _happen(self, step: Step) -> Delivery | None:
        """Make `step` true on the fake GitLab; return the hook it sends (None: nothing to do)."""
        fake = self.fake
        if step.kind == "push":
            before = fake.spec.head
            fake.push(step.head, files_for(step))
            p = _fixture("push.json")
            p.update(before=before, after=step.head, checkout_sha=step.head, ref="refs/heads/main",
                     project_id=PROJECT_ID, project=self._project())  # fmt: skip
            return Delivery("Push Hook", json.dumps(p).encode())
        if step.kind == "ci":
            head = fake.spec.head
            fake.push(head, dict(fake.spec.files), jobs=(("tests", "success"),))
            self.ci_steps += 1
            if self.ci_steps % 2 == 1:  # every other CI result arrives as the job's own hook
                pipeline = fake.pipelines[-1]
                p = _fixture("job.json")
                p.update(sha=head, before_sha=head, ref="main", build_name="tests", build_status="success",
                         build_id=fake.jobs[pipeline["id"]][0]["id"], pipeline_id=pipeline["id"],
                         project_id=PROJECT_ID, project_name=self.fake.path, project=self._project())  # fmt: skip
                p["commit"].update(id=pipeline["id"], sha=head, status="success")
                return Delivery("Job Hook", json.dumps(p).encode())
            p = _fixture("pipeline.json")
            p["object_attributes"].update(sha=head, ref="main", status="success", tag=False, source="push")
            p["builds"] = [{**p["builds"][0], "name": "tests", "status": "success"}]
            p["project"] = self._project()
            p["merge_request"] = None
            return Delivery("Pipeline Hook", json.dumps(p).encode())
        issue = self.section_issue(step.item or "slo")
        assert issue is not None, "a person acts only on an issue they can see"
        person = {"id": fake.user(step.by), "username": step.by, "name": step.by.title()}
        if step.kind == "tick":
            previous = issue["description"]
            box = unticked_box(step.item)
            if not box.search(previous):
                return None  # already ticked (by evidence): the person has nothing to do
            issue["description"] = box.sub("- [x] ", previous, count=1)
            p = _fixture("issue.json")
            p["object_attributes"].update(iid=issue["iid"], id=issue["id"], description=issue["description"],
                                          action="update", state="opened", project_id=PROJECT_ID)  # fmt: skip
            if issue["issue_type"] == "task":  # a child task's edits arrive as a work item hook
                p["object_kind"] = p["event_type"] = "work_item"
                p["object_attributes"]["type"] = "Task"
            p["changes"] = {"description": {"previous": previous, "current": issue["description"]}}
            p["user"].update(person)
            p["project"] = self._project()
            return Delivery("Issue Hook", json.dumps(p).encode())
        note = fake._note(issue["iid"], next(fake.ids), step.by, step.text)
        fake.notes[issue["iid"]].append(note)
        p = _fixture("note_issue.json")
        p["object_attributes"].update(id=note["id"], note=step.text, noteable_type="Issue", action="create",
                                      noteable_id=issue["id"], project_id=PROJECT_ID)  # fmt: skip
        p["issue"].update(iid=issue["iid"], id=issue["id"], description=issue["description"])
        p["user"].update(person)
        p.update(project=self._project(), project_id=PROJECT_ID)
        return Delivery("Note Hook", json.dumps(p).encode())

    def observe(self) -> dict[str, Any]:
        """What a user sees: our issues by marker key (title, type, state, boxes, labels,
        description with iids replaced by keys), child tasks and `relates_to` links, the bot's
        notes per issue, its award emoji."""
        fake = self.fake
        ours: dict[str, dict[str, Any]] = {}
        keys: dict[int, str] = {}
        for issue in fake.issues.values():
            key = tracker.key_from_body(issue.get("description"))
            if key and issue["author"]["username"] == BOT:
                assert key not in ours, f"duplicate issue for {key}"
                ours[key] = issue
                keys[issue["iid"]] = key
        view: dict[str, Any] = {}
        for key, issue in sorted(ours.items()):
            iid = issue["iid"]
            notes = [n["body"] for n in fake.notes.get(iid, []) if n["author"]["username"] == BOT]
            linked = [dst if src == iid else src for _, src, dst in fake.links if iid in (src, dst)]
            view[key] = {
                "title": issue["title"],
                "type": issue["type"],
                "state": issue["state"],
                "boxes": {item: v for (_, item), v in tracker.parse_checkboxes(issue["description"]).items()},
                "labels": sorted(issue["labels"]),
                "body": unnumber(issue["description"], keys),
                "children": sorted(keys.get(n, str(n)) for n in fake.graphql.children_of(iid)),
                "links": sorted(keys.get(n, str(n)) for n in linked),
                "bot_comments": len(notes),
                "replies": Counter(reply_kind(n) for n in notes),
            }
        bodies = {n["id"]: n["body"] for ns in fake.notes.values() for n in ns}
        view["reactions"] = sorted({(bodies[nid], name) for nid, name in fake.reactions()})
        return view


def _fixture(name: str) -> dict[str, Any]:
    """GitLab's own example payload (tests/fixtures/webhooks/gitlab), adjusted by the caller."""
    return json.loads((FIXTURES / name).read_text())
