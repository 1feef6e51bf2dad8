"""The fault driver: one seeded story, played once cleanly and once through faults, compared.

The whole bot runs as in production, driven only from its edges: signed webhooks go into the
ASGI app (`create_app`), the durable queue stores them, `Worker` + `make_handler` process them,
and the platform (GitHub or GitLab) is the stateful fake of the platform tests behind respx /
`responses` (unknown routes fail the run). This module is platform-neutral: the fault schedule,
worker lives and kills, database drops, the play loop, the comparison. Each platform's side
(`chaos.github_side`, `chaos.gitlab_side`) supplies its fake wrapped with faults, how a delivery
is signed and sent, how a story step becomes its webhooks, and what a user sees (`observe`).

Faults come from a schedule drawn from the seed, keyed by the index of the request the bot
makes to the platform, so a seed replays the same faults (each side lists its kinds):

- 502 or a read timeout, before the platform applied the request or after (the answer is lost);
- rate limits (GitHub: a secondary limit, 403 with `retry-after`, and a 429; GitLab: 429 with
  `Retry-After` and `RateLimit-*`);
- GitHub only: the installation token revoked (401, then the bot mints a new one);
- the bot's database connections dropped (PostgreSQL: `pg_terminate_backend` on the backends
  whose `application_name` is this run's; SQLite: the pool is disposed);
- the worker killed at that request (before or after the platform applied it) and a new worker
  started on the same database with a new engine, client and caches (a restart).

On the webhook side: redelivery of a processed delivery, the same delivery twice at once, and
deliveries held back and sent later in shuffled order. Time is a controllable clock: backoffs,
rate-limit waits, write pacing and lease expiry advance it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import difflib
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from platforms.conftest import FakeClock
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.app import create_app
from bot.config import Settings
from bot.jobs.handlers import make_handler
from bot.jobs.router import Router
from bot.jobs.worker import Worker
from bot.platforms.base import PlatformClient
from bot.resources import load_shipped
from bot.store.db import make_engine, session_scope
from bot.store.models import Delivery as DeliveryRow
from chaos.story import Delivery, Step, make_story

PLATFORMS = ("github", "gitlab")
MAX_LIVES = 60  # worker restarts per run: far more than a run needs; a bound against a livelock


class UnknownRoute(AssertionError):
    """The bot called an endpoint the fake does not model: the fake must learn it (loudly)."""


@dataclass
class Faults:
    schedule: dict[int, str]  # request index -> fault
    seen: int = 0
    injected: list[str] = field(default_factory=list)

    @classmethod
    def draw(cls, rng: random.Random, *, count: int, horizon: int, kinds: tuple[str, ...]) -> Faults:
        return cls({rng.randrange(1, horizon): rng.choice(kinds) for _ in range(count)})


class Side(Protocol):
    """What a platform brings to a run (see `chaos.github_side.GitHubSide`)."""

    name: str
    faults: tuple[str, ...]  # the fault kinds drawn for this platform
    unknown: list[str]  # requests to routes the fake does not model

    def requests_made(self) -> int: ...
    def settings(self, **common: Any) -> Settings: ...
    def new_client(self, settings: Settings, life: int) -> PlatformClient: ...
    def mounted(self) -> Any: ...  # a context manager: the fake answers the bot's HTTP inside it
    def headers(self, d: Delivery) -> dict[str, str]: ...
    def has_section(self, item: str) -> bool: ...
    def happen(self, step: Step) -> Delivery | None: ...
    def observe(self) -> dict[str, Any]: ...


def _side(platform: str, run: Run, key_pair: tuple[str, str]) -> Side:
    if platform == "github":
        from chaos.github_side import GitHubSide

        return GitHubSide(run, key_pair)
    from chaos.gitlab_side import GitLabSide

    return GitLabSide(run)


# --------------------------------------------------------------------------------- the bot


@dataclass
class Life:
    """One worker process: its engine, platform client (tokens, caches) and worker."""

    engine: Engine
    client: PlatformClient
    worker: Worker


class Run:
    """One play of a story against a fresh fake platform and an empty database."""

    def __init__(
        self,
        db_url: str,
        key_pair: tuple[str, str],
        *,
        seed: int,
        faults: Faults | None,
        platform: str = "github",
    ) -> None:
        self.seed, self.faults = seed, faults or Faults({})
        self.rng = random.Random(seed * 7919 + 1)
        self.name = f"readiness-chaos-{seed}-{random.getrandbits(24):06x}"
        self.url = _with_application_name(db_url, self.name)
        self.admin_url = db_url
        self.clock = FakeClock()
        self.side = _side(platform, self, key_pair)
        self.settings = self.side.settings(**_common_settings(self.url))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[int] | None = None  # the running worker drain, for `kill`
        self.dead = 0  # lives up to this one are killed: their threads must not reach the platform
        self.lives = 0
        self.life: Life | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)

    def new_life(self) -> Life:
        """A freshly started worker process: nothing shared with the previous one but the database."""
        self.lives += 1
        engine = make_engine(self.url)
        client = self.side.new_client(self.settings, self.lives)
        sync = Router(engine, {self.side.name: client}, load_shipped(), clock=self.now)
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

    def kill(self) -> None:
        """Kill the worker process from any thread (GitLab's client works in threads): its drain
        is cancelled on the loop and its threads die at their next request (`dead`)."""
        self.dead = self.lives
        assert self.loop is not None and self.task is not None
        self.loop.call_soon_threadsafe(self.task.cancel)

    async def work(self, *, max_rounds: int = 1) -> None:
        """Run the worker until nothing is due (up to `max_rounds` drains); a kill fault ends
        the life and the next call starts a new one."""
        for _ in range(max_rounds):
            if self.life is None:
                self.life = self.new_life()
            before = asyncio.all_tasks()
            task = asyncio.create_task(self.life.worker.run_once())
            self.loop, self.task = asyncio.get_running_loop(), task
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


def _common_settings(url: str) -> dict[str, Any]:
    """The bot's settings every platform's run shares (the side adds its own)."""
    return dict(
        database_url=url,
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
    """Play the story; returns what a user sees on the platform at the end (`observe`)."""
    receiver_engine = make_engine(run.url)
    app = create_app(run.settings, engine=receiver_engine, start_worker=False, start_scheduler=False)
    held: list[Delivery] = []
    sent: list[Delivery] = []
    rng = run.rng
    try:
        with run.side.mounted():
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
            ):

                async def send(d: Delivery) -> None:
                    r = await http.post(
                        f"/webhooks/{run.side.name}", content=d.body, headers=run.side.headers(d)
                    )
                    assert r.status_code in (200, 202), f"{d.event} answered {r.status_code}: {r.text}"
                    sent.append(d)

                for step in steps:
                    while step.kind in ("tick", "command") and not run.side.has_section(step.item or "slo"):
                        # a person acts only on an issue they can see: until the bot made it, the
                        # held webhooks arrive and the bot works (through its faults)
                        assert held or run.unfinished(), f"seed {run.seed}: no issue to act on for {step}"
                        if held:
                            await send(held.pop(0))
                        await run.settle()
                    delivery = run.side.happen(step)
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
        assert not run.side.unknown, f"the bot called routes the fake does not know: {run.side.unknown}"
        left = run.unfinished()
        assert not left, f"seed {run.seed}: deliveries left unprocessed: {dict(left)}"
        return run.side.observe()
    finally:
        await run.close()
        receiver_engine.dispose()


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


async def run_seed(
    db_url: str, key_pair: tuple[str, str], seed: int, *, faults: int = 8, platform: str = "github"
) -> Outcome:
    """Play seed's story cleanly, then with `faults` faults, and compare what users see."""
    steps = make_story(seed)
    empty_database(db_url)
    clean = Run(db_url, key_pair, seed=seed, faults=None, platform=platform)
    expected = await play(clean, steps, chaos=False)
    empty_database(db_url)
    # faults land among the requests a clean play makes (and a little past them: retries add some)
    horizon = clean.side.requests_made() * 5 // 4 + 2
    drawn = Faults.draw(random.Random(seed), count=faults, horizon=horizon, kinds=clean.side.faults)
    run = Run(db_url, key_pair, seed=seed, faults=drawn, platform=platform)
    try:
        got = await play(run, steps, chaos=True)
    except AssertionError as exc:
        return Outcome(seed, [str(exc)], drawn.injected, run.lives)
    return Outcome(seed, diff(expected, got), drawn.injected, run.lives)
