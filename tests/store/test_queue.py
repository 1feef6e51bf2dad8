"""The delivery queue: dedupe, per-repository order, leases, retries and dead letters."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from bot.metrics import DEAD_LETTERS
from bot.store import queue
from bot.store.db import make_engine, session_scope
from bot.store.models import Delivery

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LEASE = 60


def put(
    engine: Engine, delivery_id: str, repo: str | None = "github:acme/api", *, now: datetime = T0
) -> bool:
    with session_scope(engine) as session:
        return queue.enqueue(
            session,
            platform="github",
            delivery_id=delivery_id,
            event="push",
            action=None,
            installation_id=42,
            repo_key=repo,
            payload=b'{"ref": "refs/heads/main"}',
            now=now,
        )


def claim(engine: Engine, owner: str = "w1", *, now: datetime = T0, limit: int = 10, **kw: object):
    return queue.claim(engine, owner=owner, now=now, lease_seconds=LEASE, limit=limit, **kw)  # type: ignore[arg-type]


def count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Delivery)) or 0


def test_the_same_delivery_id_is_stored_once(engine: Engine) -> None:
    assert put(engine, "d-1") is True
    assert put(engine, "d-1") is False  # GitHub redelivers with the same id
    assert count(engine) == 1
    stored = queue.list_deliveries(engine)[0]
    assert (stored.event, stored.repo_key, stored.payload) == (
        "push",
        "github:acme/api",
        b'{"ref": "refs/heads/main"}',
    )


def test_the_same_id_on_another_platform_is_another_delivery(engine: Engine) -> None:
    assert put(engine, "d-1")
    with session_scope(engine) as session:
        rows = [dict(platform="gitlab", delivery_id="d-1", event="Push Hook", payload=b"{}")]
        assert queue.enqueue_many(session, rows) == [True]
    assert count(engine) == 2


def test_enqueue_many_reports_each_row(engine: Engine) -> None:
    put(engine, "old")
    rows = [
        dict(platform="github", delivery_id=d, event="push", repo_key="github:acme/api", payload=b"{}")
        for d in ("new-1", "old", "new-2", "new-1")
    ]
    with session_scope(engine) as session:
        assert queue.enqueue_many(session, rows) == [True, False, True, False]
    assert count(engine) == 3


def test_a_large_batch_is_stored_in_one_call(engine: Engine) -> None:
    put(engine, "b-17")
    rows = [
        dict(
            platform="github",
            delivery_id=f"b-{i}",
            event="push",
            repo_key=f"github:acme/r{i % 7}",
            payload=b"{}",
        )
        for i in range(3000)
    ]
    with session_scope(engine) as session:
        result = queue.enqueue_many(session, [*rows, rows[5]])
    assert result.count(True) == 2999 and result[17] is False and result[-1] is False
    assert count(engine) == 3000


def test_two_identical_deliveries_at_the_same_moment_make_one_job(db_url: str) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]  # two processes' worth of connections
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def receive(engine: Engine) -> None:
        with session_scope(engine) as session:
            barrier.wait()
            results.append(
                queue.enqueue(
                    session,
                    platform="github",
                    delivery_id="same",
                    event="push",
                    action=None,
                    installation_id=1,
                    repo_key="github:acme/api",
                    payload=b"{}",
                )
            )

    threads = [threading.Thread(target=receive, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert count(engines[0]) == 1
    for e in engines:
        e.dispose()


def test_claim_takes_the_oldest_delivery_of_each_repository(engine: Engine) -> None:
    put(engine, "a1", "github:acme/a")
    put(engine, "a2", "github:acme/a")
    put(engine, "b1", "github:acme/b")
    put(engine, "n1", None)
    put(engine, "n2", None)

    first = claim(engine)
    assert [d.delivery_id for d in first] == ["a1", "b1", "n1", "n2"]
    assert all(d.status == "running" and d.attempts == 1 for d in first)
    assert claim(engine, "w2") == []  # a2 waits for a1, even for another worker

    assert queue.complete(engine, first[0].id, owner="w1", now=T0)  # type: ignore[arg-type]
    assert [d.delivery_id for d in claim(engine, "w2")] == ["a2"]


def test_claim_respects_limit_and_due_time(engine: Engine) -> None:
    for i in range(3):
        put(engine, f"r{i}", f"github:acme/r{i}")
    put(engine, "later", "github:acme/later", now=T0 + timedelta(seconds=30))

    assert len(claim(engine, limit=2)) == 2
    assert [d.delivery_id for d in claim(engine)] == ["r2"]  # "later" is not due yet
    assert [d.delivery_id for d in claim(engine, now=T0 + timedelta(seconds=30))] == ["later"]


def test_a_delivery_waiting_for_its_retry_holds_back_its_repository(engine: Engine) -> None:
    put(engine, "first")
    put(engine, "second")
    [d] = claim(engine)
    queue.fail(engine, d.id, owner="w1", error="boom", now=T0, retry_at=T0 + timedelta(seconds=30))  # type: ignore[arg-type]

    assert claim(engine, now=T0 + timedelta(seconds=10)) == []
    assert [x.delivery_id for x in claim(engine, now=T0 + timedelta(seconds=30))] == ["first"]


def test_a_killed_workers_claim_is_taken_over_after_its_lease(engine: Engine) -> None:
    put(engine, "d-1")
    [d] = claim(engine, "killed")
    assert claim(engine, "w2", now=T0 + timedelta(seconds=LEASE - 1)) == []

    [taken] = claim(engine, "w2", now=T0 + timedelta(seconds=LEASE))
    assert (taken.id, taken.lease_owner, taken.attempts) == (d.id, "w2", 2)
    # the old owner, if it was only slow, can no longer write a result
    assert not queue.complete(engine, d.id, owner="killed", now=T0)  # type: ignore[arg-type]
    assert queue.complete(engine, d.id, owner="w2", now=T0 + timedelta(seconds=LEASE + 1))  # type: ignore[arg-type]
    assert queue.get(engine, d.id).status == "done"  # type: ignore[arg-type,union-attr]


def test_a_delivery_that_keeps_killing_workers_is_dead_lettered(engine: Engine) -> None:
    put(engine, "poison")
    dead_letters = DEAD_LETTERS._value.get()
    now = T0
    for _ in range(3):
        assert len(claim(engine, now=now, max_attempts=3)) == 1
        now += timedelta(seconds=LEASE)
    assert claim(engine, now=now, max_attempts=3) == []
    [dead] = queue.list_deliveries(engine, status="dead")
    assert dead.attempts == 3 and "lease expired 3 times" in (dead.last_error or "")
    assert DEAD_LETTERS._value.get() == dead_letters + 1


def test_failures_retry_then_dead_letter_with_the_last_error_then_operator_retry(engine: Engine) -> None:
    put(engine, "d-1")
    rng = random.Random(7)
    now = T0
    for attempt in range(1, 4):
        [d] = claim(engine, now=now)
        assert d.attempts == attempt
        retry_at = queue.next_retry(d.attempts, max_attempts=3, now=now, base=2, cap=60, rng=rng)
        status = queue.fail(
            engine, d.id, owner="w1", error=f"HTTP 502 #{attempt}", now=now, retry_at=retry_at
        )  # type: ignore[arg-type]
        assert status == ("dead" if attempt == 3 else "pending")
        now = retry_at or now

    dead = queue.get(engine, d.id)  # type: ignore[arg-type]
    assert dead is not None and (dead.status, dead.attempts, dead.last_error) == ("dead", 3, "HTTP 502 #3")
    assert claim(engine, now=now + timedelta(days=1)) == []

    retried = queue.retry(engine, d.id, now=now)  # type: ignore[arg-type]
    assert retried is not None and (retried.status, retried.attempts) == ("pending", 0)
    [again] = claim(engine, now=now)
    assert queue.complete(engine, again.id, owner="w1", now=now)  # type: ignore[arg-type]
    assert queue.get(engine, d.id).status == "done"  # type: ignore[arg-type,union-attr]


def test_retry_leaves_a_delivery_that_is_not_dead_alone(engine: Engine) -> None:
    put(engine, "d-1")
    [d] = queue.list_deliveries(engine)
    assert queue.retry(engine, d.id).status == "pending"  # type: ignore[arg-type,union-attr]
    assert queue.retry(engine, 999_999) is None


def test_rate_limited_attempt_is_given_back(engine: Engine) -> None:
    put(engine, "d-1")
    [d] = claim(engine)
    later = T0 + timedelta(seconds=900)
    queue.fail(engine, d.id, owner="w1", error="rate limited", now=T0, retry_at=later, count_attempt=False)  # type: ignore[arg-type]
    stored = queue.get(engine, d.id)  # type: ignore[arg-type]
    assert stored is not None and (stored.status, stored.attempts, stored.next_attempt_at) == (
        "pending",
        0,
        later,
    )


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (10, 100)]:
        samples = [queue.backoff_seconds(attempts, base=2, cap=100, rng=rng) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # jitter spreads over the whole range
        assert min(samples) < ceiling * 0.2
    assert queue.next_retry(8, max_attempts=8, now=T0, base=2, cap=100, rng=rng) is None


def test_release_gives_claims_back_without_counting_an_attempt(engine: Engine) -> None:
    put(engine, "a", "github:acme/a")
    put(engine, "b", "github:acme/b")
    claimed = claim(engine, "stopping")
    assert queue.release(engine, "stopping") == 2

    again = claim(engine, "w2")  # at once, no lease to wait out
    assert [(d.delivery_id, d.attempts) for d in again] == [("a", 1), ("b", 1)]
    assert {d.id for d in again} == {d.id for d in claimed}


def test_stats_counts_unfinished_work_and_the_oldest_pending_age(engine: Engine) -> None:
    assert queue.stats(engine, now=T0) == (0, 0.0)
    put(engine, "a", "github:acme/a", now=T0)
    put(engine, "b", "github:acme/b", now=T0 + timedelta(seconds=30))
    put(engine, "c", "github:acme/c", now=T0 + timedelta(seconds=40))
    [a] = claim(engine, limit=1, now=T0 + timedelta(seconds=40))
    queue.complete(engine, a.id, owner="w1", now=T0)  # type: ignore[arg-type]
    claim(engine, limit=1, now=T0 + timedelta(seconds=40))  # b is running
    assert queue.stats(engine, now=T0 + timedelta(seconds=100)) == (2, 60.0)


def test_concurrent_claimers_never_get_the_same_delivery(db_url: str) -> None:
    """Several workers (separate connections) drain one queue: every delivery exactly once."""
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        rows = [
            dict(
                platform="github",
                delivery_id=f"d{i}",
                event="push",
                repo_key=f"github:acme/r{i % 40}",
                payload=b"{}",
            )
            for i in range(400)
        ]
        queue.enqueue_many(session, rows, now=T0)
    seen: list[str] = []
    lost: list[str] = []  # completions refused because another claimer held the same delivery
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def work(owner: str) -> None:
        mine = make_engine(db_url)
        try:
            barrier.wait()
            while batch := queue.claim(mine, owner=owner, now=T0, lease_seconds=LEASE, limit=5):
                done = [queue.complete(mine, d.id, owner=owner, now=T0) for d in batch]  # type: ignore[arg-type]
                with lock:
                    seen.extend(d.delivery_id for d in batch)
                    lost.extend(d.delivery_id for d, ok in zip(batch, done, strict=True) if not ok)
        except BaseException as exc:
            errors.append(exc)
        finally:
            mine.dispose()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and lost == []
    assert sorted(seen) == sorted(f"d{i}" for i in range(400))
    assert queue.stats(engine, now=T0) == (0, 0.0)
    engine.dispose()


def test_a_renewed_lease_keeps_a_long_job_from_being_taken_over(engine: Engine) -> None:
    put(engine, "long")
    [d] = claim(engine, "slow-but-alive")
    later = T0 + timedelta(seconds=LEASE * 2)
    assert queue.extend(engine, d.id, owner="slow-but-alive", until=later)  # type: ignore[arg-type]
    assert not queue.extend(engine, d.id, owner="someone-else", until=later)  # type: ignore[arg-type]

    assert claim(engine, "w2", now=T0 + timedelta(seconds=LEASE)) == []
    assert [x.delivery_id for x in claim(engine, "w2", now=later)] == ["long"]
