"""Write pacing keeps bursts inside GitHub's secondary limits without dropping work or sleeping."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import respx
from sqlmodel import Session, select

from bot.platforms.base import RateLimited
from bot.platforms.github.client import GitHubClient, GitHubRepo
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.pacing import DatabaseLedger, WritePacer
from bot.store.db import make_engine
from bot.store.models import WriteSlot

from .conftest import FakeClock
from .contract import SPEC
from .fake_github import INSTALLATION_ID, FakeGitHub


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


async def _acquire_times(pacer: WritePacer, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        await pacer.acquire()
        times.append(clock.now)
    return times


async def test_writes_are_spaced_at_least_a_second(clock: FakeClock) -> None:
    times = await _acquire_times(WritePacer(clock, clock.sleep), clock, 5)
    assert [b - a for a, b in itertools.pairwise(times)] == [1.0] * 4


async def test_minute_window_holds_even_without_spacing(clock: FakeClock) -> None:
    pacer = WritePacer(clock, clock.sleep, min_interval=0)
    times = await _acquire_times(pacer, clock, 200)
    assert len(times) == 200
    assert max_in_window(times, 60) == 80
    assert times[80] - times[0] == 60  # the 81st waits for the first to leave the window


async def test_hour_budget_waits_or_hands_back_to_the_worker(clock: FakeClock) -> None:
    patient = WritePacer(clock, clock.sleep, min_interval=0, per_minute=10_000, max_wait=None)
    times = await _acquire_times(patient, clock, 501)
    assert times[500] - times[0] == 3600

    impatient = WritePacer(clock, clock.sleep, min_interval=0, per_minute=10_000, max_wait=300)
    await _acquire_times(impatient, clock, 500)
    with pytest.raises(RateLimited) as err:
        await impatient.acquire()
    assert err.value.retry_after == pytest.approx(3600)


async def test_pause_after_retry_after_delays_the_next_write(clock: FakeClock) -> None:
    pacer = WritePacer(clock, clock.sleep)
    await pacer.acquire()
    await pacer.pause(30)
    start = clock.now
    await pacer.acquire()
    assert clock.now - start == 30


async def test_concurrent_writers_are_serialised(clock: FakeClock) -> None:
    pacer = WritePacer(clock, clock.sleep)

    async def one() -> float:
        await pacer.acquire()
        return clock.now

    times = sorted(await asyncio.gather(*(one() for _ in range(10))))
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_burst_of_100_issue_creations_through_the_github_adapter(
    repo: GitHubRepo, fake: FakeGitHub, clock: FakeClock
) -> None:
    created = await asyncio.gather(
        *(repo.create_issue(title=f"Section {n}", body=f"<!-- readiness:s{n} -->") for n in range(100))
    )
    assert len({i.number for i in created}) == 100
    assert sorted(i["title"] for i in fake.issues.values() if i["title"].startswith("Section ")) == sorted(
        f"Section {n}" for n in range(100)
    )
    writes = [t for m, p, t in fake.log if m == "POST" and p.endswith("/issues")]
    assert len(writes) == 100  # none dropped, none duplicated
    assert max_in_window(writes, 60) <= 80
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(writes))
    assert sum(clock.slept) >= 99  # the fake clock moved; nothing really slept


# ----------------------------------------------------------------- pacing shared across replicas


class SharedClock(FakeClock):
    """Virtual time for concurrent sleepers: two replicas sleeping a second each at once take a
    second, not two."""

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        wake = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


@pytest.fixture
def two_engines(db_url: str):
    """Two replicas: each its own engine (connection pool) on the one database."""
    engines = [make_engine(db_url), make_engine(db_url)]
    yield engines
    for e in engines:
        e.dispose()


def claimed(engine, installation_id: int) -> list[float]:
    """The write slots both replicas claimed (the times their writes were allowed out)."""
    with Session(engine) as s:
        return sorted(s.exec(select(WriteSlot.sent_at).where(WriteSlot.installation_id == installation_id)))


async def test_two_workers_with_their_own_engines_share_one_installations_budget(
    settings, rsa_key, two_engines
) -> None:
    """Both replicas create issues for one installation at once: together their writes go out a
    second apart and within 80 a minute, as one process's would. Alone, each would space only
    its own writes, and the two streams would go out side by side."""
    clock = SharedClock()
    fake = FakeGitHub(
        SPEC, settings.platform(GitHubSettings).github_api_url, public_key=rsa_key[1], now=clock
    )
    with respx.mock(base_url=fake.host, assert_all_called=False) as mock:
        mock.route().mock(side_effect=fake)
        clients = [
            GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False, pacing=e)
            for e in two_engines
        ]
        repos = [await c.for_repo(SPEC.full_name, installation_id=INSTALLATION_ID) for c in clients]
        await asyncio.gather(
            *(
                repos[n % 2].create_issue(title=f"Section {n}", body=f"<!-- readiness:s{n} -->")
                for n in range(120)
            )
        )
        for c in clients:
            await c.aclose()
    assert len([m for m, p, _ in fake.log if m == "POST" and p.endswith("/issues")]) == 120
    times = claimed(two_engines[0], INSTALLATION_ID)
    assert len(times) == 120  # every write claimed its slot in the shared ledger
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0
    assert max_in_window(times, 60) <= 80
    assert times[-1] - times[0] >= 119  # no faster than one process would have gone


async def test_two_workers_together_stay_within_80_a_minute(two_engines) -> None:
    clock = SharedClock()
    pacers = [
        WritePacer(clock, clock.sleep, min_interval=0, ledger=DatabaseLedger(e, "github", 7))
        for e in two_engines
    ]

    async def worker(pacer: WritePacer) -> None:
        for _ in range(110):
            await pacer.acquire()

    await asyncio.gather(*(worker(p) for p in pacers))
    times = claimed(two_engines[0], 7)
    assert len(times) == 220
    assert max_in_window(times, 60) == 80  # together, not 80 each
    assert times[80] - times[0] >= 60 and times[160] - times[0] >= 120


async def test_a_retry_after_told_to_one_worker_holds_the_other(clock: FakeClock, two_engines) -> None:
    a, b = (WritePacer(clock, clock.sleep, ledger=DatabaseLedger(e, "github", 7)) for e in two_engines)
    other = WritePacer(clock, clock.sleep, ledger=DatabaseLedger(two_engines[1], "github", 8))
    await a.acquire()
    await a.pause(30)
    start = clock.now
    await other.acquire()  # another installation has its own budget
    assert clock.now == start
    await b.acquire()
    assert clock.now - start == 30


async def test_an_exhausted_shared_hour_hands_back_to_the_worker(clock: FakeClock, two_engines) -> None:
    a, b = (
        WritePacer(
            clock,
            clock.sleep,
            min_interval=0,
            per_minute=10_000,
            per_hour=50,
            max_wait=300,
            ledger=DatabaseLedger(e, "github", 7),
        )
        for e in two_engines
    )
    for n in range(50):
        await (a if n % 2 else b).acquire()
    with pytest.raises(RateLimited) as err:
        await b.acquire()  # a's 25 writes count against b too
    assert err.value.retry_after == pytest.approx(3600)
