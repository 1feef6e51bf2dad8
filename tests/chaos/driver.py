"""The fault driver: one seeded story, played once cleanly and once through faults, compared.

The whole bot runs as in production, driven only from its edges: signed webhooks go into the
ASGI app (`create_app`), the durable queue stores them, `Worker` + `make_handler` process them,
and GitHub is the stateful REST fake of the platform tests behind respx (unknown routes fail the
run). Faults come from a schedule drawn from the seed, keyed by the index of the request the bot
makes to GitHub, so a seed replays the same faults:

- 502 or a read timeout, before GitHub applied the request or after (the answer is lost);
- a secondary rate limit (403 with `retry-after`) and a 429;
- the installation token revoked (401, then the bot mints a new one);
- the bot's database connections dropped (PostgreSQL: `pg_terminate_backend` on the backends
  whose `application_name` is this run's; SQLite: the pool is disposed);
- the worker killed at that request (its task cancelled, before or after GitHub applied it) and
  a new worker started on the same database with a new engine, client and caches (a restart).

On the webhook side: redelivery of a processed delivery, the same delivery twice at once, and
deliveries held back and sent later in shuffled order. Time is a controllable clock: backoffs,
rate-limit waits, write pacing and lease expiry advance it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import difflib
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import respx
from platforms.conftest import FakeClock
from platforms.contract import SPEC, SeedIssue
from platforms.fake_github import APP_ID, FakeGitHub
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.app import create_app
from bot.config import Settings, load_settings
from bot.core import tracker
from bot.jobs.handlers import make_handler
from bot.jobs.router import Router
from bot.jobs.worker import Worker
from bot.platforms.github.client import GitHubClient
from bot.platforms.http import RetryPolicy
from bot.resources import load_shipped
from bot.store.db import make_engine, session_scope
from bot.store.models import Delivery as DeliveryRow
from chaos.story import SECRET, Delivery, Step, happen, make_story, section_issue

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
MAX_LIVES = 60  # worker restarts per run: far more than a run needs; a bound against a livelock


class UnknownRoute(AssertionError):
    """The bot called an endpoint the fake does not model: the fake must learn it (loudly)."""


@dataclass
class Faults:
    schedule: dict[int, str]  # request index -> fault
    seen: int = 0
    injected: list[str] = field(default_factory=list)

    @classmethod
    def draw(cls, rng: random.Random, *, count: int, horizon: int) -> Faults:
        return cls({rng.randrange(1, horizon): rng.choice(FAULTS) for _ in range(count)})


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


# --------------------------------------------------------------------------------- the bot


@dataclass
class Life:
    """One worker process: its engine, GitHub client (tokens, caches) and worker."""

    engine: Engine
    client: GitHubClient
    worker: Worker


class Run:
    """One play of a story against a fresh fake GitHub and an empty database."""

    def __init__(self, db_url: str, key_pair: tuple[str, str], *, seed: int, faults: Faults | None) -> None:
        self.seed, self.faults = seed, faults or Faults({})
        self.rng = random.Random(seed * 7919 + 1)
        self.name = f"readiness-chaos-{seed}-{random.getrandbits(24):06x}"
        self.url = _with_application_name(db_url, self.name)
        self.admin_url = db_url
        self.clock = FakeClock()
        self.settings = _settings(self.url, key_pair[0])
        spec = replace(
            SPEC,
            files={},
            ci=(),
            labels=(),
            comments=(),
            issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
        )
        self.fake = FakeGitHub(spec, API, public_key=key_pair[1], now=self.clock)
        self.github = FaultyGitHub(self.fake, self.faults, self.drop_connections)
        self.lives = 0
        self.life: Life | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)

    def new_life(self) -> Life:
        """A freshly started worker process: nothing shared with the previous one but the database."""
        self.lives += 1
        engine = make_engine(self.url)
        client = GitHubClient(
            self.settings,
            clock=self.clock,
            sleep=self.clock.sleep,
            http_cache=False,
            policy=RetryPolicy(base_delay=1.0),
        )
        sync = Router(engine, {"github": client}, load_shipped(), clock=self.now)
        worker = Worker(
            engine,
            make_handler(self.settings, engine, sync=sync),
            self.settings,
            clock=self.now,
            rng=random.Random(self.seed + self.lives),
            sleep=self.clock.sleep,
        )
        return Life(engine, client, worker)

    def drop_connections(self) -> None:
        """The database drops the bot's connections (a failover, a restart, an idle timeout)."""
        admin = make_engine(self.admin_url)
        try:
            if admin.dialect.name == "postgresql":
                with admin.begin() as conn:
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": self.name},
                    )
            elif self.life is not None:
                self.life.engine.dispose()
        finally:
            admin.dispose()

    async def work(self, *, max_rounds: int = 1) -> None:
        """Run the worker until nothing is due (up to `max_rounds` drains); a kill fault ends
        the life and the next call starts a new one."""
        for _ in range(max_rounds):
            if self.life is None:
                self.life = self.new_life()
            before = asyncio.all_tasks()
            task = asyncio.create_task(self.life.worker.run_once())
            try:
                n = await task
            except asyncio.CancelledError:
                await self._bury(before)
                continue
            if n == 0:
                return

    async def _bury(self, before: set[asyncio.Task[Any]]) -> None:
        """The worker process died: whatever it still had running dies with it."""
        me = asyncio.current_task()
        orphans = [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]
        for t in orphans:
            t.cancel()
        await asyncio.gather(*orphans, return_exceptions=True)
        assert self.life is not None
        await self.life.client.aclose()
        self.life.engine.dispose()
        self.life = None
        if self.lives > MAX_LIVES:
            raise AssertionError(f"seed {self.seed}: more than {MAX_LIVES} worker restarts")

    def unfinished(self) -> Counter[str]:
        engine = make_engine(self.url)
        try:
            with session_scope(engine, immediate=False) as s:
                rows = s.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))
                return Counter({status: n for status, n in rows if status != "done"})
        finally:
            engine.dispose()

    async def settle(self) -> None:
        """Work until the queue is empty, letting time pass for retries and expired leases."""
        for _ in range(200):
            await self.work(max_rounds=50)
            left = self.unfinished()
            if not left or set(left) == {"dead"}:
                return
            self.clock.advance(self.settings.lease_seconds + self.settings.retry_max_seconds + 1)
        raise AssertionError(f"seed {self.seed}: the queue never drained: {dict(self.unfinished())}")

    async def close(self) -> None:
        if self.life is not None:
            await self.life.client.aclose()
            self.life.engine.dispose()
            self.life = None


def _settings(url: str, private_key: str) -> Settings:
    return load_settings(
        database_url=url,
        github_webhook_secret=SECRET,
        github_app_id=APP_ID,
        github_private_key=private_key,
        github_api_url=API,
        github_bot_login="readiness-bot[bot]",
        sync_settle_seconds=0,
        retry_base_seconds=1.0,
        retry_max_seconds=30.0,
        lease_seconds=30,
        worker_concurrency=2,
        max_attempts=12,
    )


def _with_application_name(db_url: str, name: str) -> str:
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return db_url
    return url.update_query_dict({"application_name": name}).render_as_string(hide_password=False)


# ------------------------------------------------------------------------------- playing


async def play(run: Run, steps: list[Step], *, chaos: bool) -> dict[str, Any]:
    """Play the story; returns what a user sees on GitHub at the end (`observe`)."""
    receiver_engine = make_engine(run.url)
    app = create_app(run.settings, engine=receiver_engine, start_worker=False, start_scheduler=False)
    held: list[Delivery] = []
    sent: list[Delivery] = []
    rng = run.rng
    try:
        with respx.mock(base_url=run.fake.host, assert_all_called=False) as router:
            router.route().mock(side_effect=run.github)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
            ):

                async def send(d: Delivery) -> None:
                    r = await http.post("/webhooks/github", content=d.body, headers=d.headers())
                    assert r.status_code in (200, 202), f"{d.event} answered {r.status_code}: {r.text}"
                    sent.append(d)

                for step in steps:
                    while (
                        step.kind in ("tick", "command")
                        and section_issue(run.fake, step.item or "slo") is None
                    ):
                        # a person acts only on an issue they can see: until the bot made it, the
                        # held webhooks arrive and the bot works (through its faults)
                        assert held or run.unfinished(), f"seed {run.seed}: no issue to act on for {step}"
                        if held:
                            await send(held.pop(0))
                        await run.settle()
                    delivery = happen(run.fake, step)
                    if delivery is None:
                        continue
                    if not chaos:
                        await send(delivery)
                        await run.settle()
                        continue
                    roll = rng.random()
                    if roll < 0.25:
                        held.append(delivery)  # arrives later, out of order
                    elif roll < 0.4:
                        await asyncio.gather(send(delivery), send(delivery))  # twice at once
                    else:
                        await send(delivery)
                    if sent and rng.random() < 0.2:
                        await send(rng.choice(sent))  # a redelivery from GitHub's UI
                    if rng.random() < 0.5:
                        await run.work(max_rounds=rng.randint(1, 3))
                rng.shuffle(held)
                for delivery in held:
                    await send(delivery)
                    if rng.random() < 0.3:
                        await run.work()
                await run.settle()
        assert not run.github.unknown, f"the bot called routes the fake does not know: {run.github.unknown}"
        left = run.unfinished()
        assert not left, f"seed {run.seed}: deliveries left unprocessed: {dict(left)}"
        return observe(run.fake)
    finally:
        await run.close()
        receiver_engine.dispose()


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

    def unnumber(body: str) -> str:  # numbers and times differ between plays, not what they say
        # (the fake clock runs on through retries, rate-limit waits and expired leases, so a day
        # shown can differ when the faults made the bot wait long; what was decided cannot)
        body = re.sub(r"\d{4}-\d\d-\d\d( \d\d:\d\d UTC)?", "<time>", body)
        # so do nonces (salted with the play's own repository row); a line whose nonce is not
        # its issue's would still show
        if nonce := tracker.nonce_of(body):
            body = body.replace(f" n={nonce} -->", " n=<nonce> -->")
        return re.sub(r"#(\d+)", lambda m: "#" + keys.get(int(m.group(1)), m.group(1)), body)

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
            "body": unnumber(issue["body"]),
            "children": sorted(keys.get(n, str(n)) for n in fake.children.get(issue["number"], [])),
            "bot_comments": len(comments),
            # a status reply's figures depend on when it was asked: compare what each reply is
            "replies": Counter(re.sub(r"[█░]+|\d+", "#", c.split("\n", 1)[0])[:60] for c in comments),
        }
    bodies = {c["id"]: c["body"] for cs in fake.comments.values() for c in cs}
    view["reactions"] = sorted({(bodies[cid], content) for cid, content in fake.reactions})
    return view


def diff(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(got)):
        if key not in got:
            out.append(f"{key}: missing")
        elif key not in expected:
            out.append(f"{key}: unexpected")
        elif expected[key] != got[key]:
            for field_name in expected[key] if isinstance(expected[key], dict) else [None]:
                e = expected[key][field_name] if field_name else expected[key]
                g = got[key].get(field_name) if field_name else got[key]
                if e != g and isinstance(e, str) and isinstance(g, str) and "\n" in e:
                    lines = difflib.unified_diff(
                        e.splitlines(), g.splitlines(), "clean", "faults", lineterm="", n=0
                    )
                    out.append(f"{key}.{field_name}:\n  " + "\n  ".join(list(lines)[2:]))
                elif e != g:
                    out.append(f"{key}.{field_name}: expected {e!r}, got {g!r}")
    return out


@dataclass
class Outcome:
    seed: int
    problems: list[str]
    faults: list[str]
    lives: int

    @property
    def passed(self) -> bool:
        return not self.problems


def empty_database(db_url: str) -> None:
    """Every table emptied (children first): the next play starts from a fresh install."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()


async def run_seed(db_url: str, key_pair: tuple[str, str], seed: int, *, faults: int = 8) -> Outcome:
    """Play seed's story cleanly, then with `faults` faults, and compare what users see."""
    steps = make_story(seed)
    empty_database(db_url)
    clean = Run(db_url, key_pair, seed=seed, faults=None)
    expected = await play(clean, steps, chaos=False)
    empty_database(db_url)
    # faults land among the requests a clean play makes (and a little past them: retries add some)
    drawn = Faults.draw(random.Random(seed), count=faults, horizon=len(clean.fake.log) * 5 // 4 + 2)
    run = Run(db_url, key_pair, seed=seed, faults=drawn)
    try:
        got = await play(run, steps, chaos=True)
    except AssertionError as exc:
        return Outcome(seed, [str(exc)], drawn.injected, run.lives)
    return Outcome(seed, diff(expected, got), drawn.injected, run.lives)
