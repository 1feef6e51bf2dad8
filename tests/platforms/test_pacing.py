"""Write pacing keeps bursts inside GitHub's secondary limits without dropping work or sleeping."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.platforms.base import RateLimited
from bot.platforms.github import GitHubRepo
from bot.platforms.pacing import WritePacer

from .conftest import FakeClock
from .fake_github import FakeGitHub


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
    pacer.pause(30)
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
