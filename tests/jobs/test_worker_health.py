"""The worker's health server: what Kubernetes' probes and Prometheus see on `--metrics-port`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bot.jobs import health
from bot.store import migrate
from bot.store.db import make_engine


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def start(heartbeat: health.Heartbeat, engine: Engine) -> Iterator[str]:
    app = health.health_app(heartbeat, lambda: migrate.database_problem(engine), max_beat_age=60)
    server, thread = health.serve("127.0.0.1", 0, app)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def beat(clock: FakeClock) -> health.Heartbeat:
    return health.Heartbeat(clock)


@pytest.fixture
def served(beat: health.Heartbeat, engine: Engine) -> Iterator[str]:
    yield from start(beat, engine)


def test_a_running_worker_is_healthy_and_ready(served: str) -> None:
    assert httpx.get(f"{served}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{served}/readyz").json() == {"status": "ready"}


def test_metrics_are_served_and_other_paths_are_404(served: str) -> None:
    metrics = httpx.get(f"{served}/metrics")
    assert metrics.status_code == 200 and "readiness_delivery_dead_letters_total" in metrics.text
    for path in ("/", "/healthz/extra", "/webhooks/github", "/metricsx"):
        assert httpx.get(f"{served}{path}").status_code == 404, path


def test_a_loop_that_stopped_turning_fails_liveness(
    served: str, beat: health.Heartbeat, clock: FakeClock
) -> None:
    clock.now += 61
    answer = httpx.get(f"{served}/healthz")
    assert answer.status_code == 503 and "61" in answer.json()["reason"]
    beat.beat()  # the loop turns again: healthy again
    assert httpx.get(f"{served}/healthz").status_code == 200


def test_a_stopping_worker_is_not_ready_but_still_alive(served: str, beat: health.Heartbeat) -> None:
    beat.stopping = True
    answer = httpx.get(f"{served}/readyz")
    assert answer.status_code == 503 and answer.json()["reason"] == "shutting down"
    assert httpx.get(f"{served}/healthz").status_code == 200


def test_a_worker_still_building_its_handler_is_not_ready(served: str, beat: health.Heartbeat) -> None:
    beat.starting = True
    answer = httpx.get(f"{served}/readyz")
    assert answer.status_code == 503 and answer.json()["reason"] == "starting"
    assert httpx.get(f"{served}/healthz").status_code == 200
    beat.starting = False  # the worker loop runs
    assert httpx.get(f"{served}/readyz").json() == {"status": "ready"}


def test_an_unmigrated_database_is_not_ready(tmp_path: Path, beat: health.Heartbeat) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        for base in start(beat, engine):
            answer = httpx.get(f"{base}/readyz")
            assert answer.status_code == 503 and "readiness migrate" in answer.json()["reason"]
            assert httpx.get(f"{base}/healthz").status_code == 200  # restarting would not help
    finally:
        engine.dispose()


def test_probes_refuse_writes(served: str) -> None:
    assert httpx.post(f"{served}/healthz").status_code == 405
