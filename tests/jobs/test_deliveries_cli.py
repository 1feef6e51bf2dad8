"""`readiness migrate`, `worker` and `deliveries list|show|retry`: what an operator sees."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import bot.cli.deliveries  # noqa: F401  (registers the commands)
from bot.cli import app
from bot.store import queue
from bot.store.db import session_scope
from bot.store.migrate import head_revision

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"  # looks like an installation token
runner = CliRunner()


def cli(*args: str, url: str, **env: str):
    return runner.invoke(app, list(args), env={"READINESS_DATABASE_URL": url, **env})


def seed(engine: Engine) -> dict[str, int]:
    """A done, a dead and a pending delivery; returns their ids by name."""
    with session_scope(engine) as s:
        for name, repo in [
            ("done", "github:acme/api"),
            ("dead", "github:acme/web"),
            ("pending", "github:acme/cli"),
        ]:
            queue.enqueue(
                s,
                platform="github",
                delivery_id=f"gh-{name}",
                event="issues",
                action="edited",
                installation_id=42,
                repo_key=repo,
                payload=json.dumps({"token": TOKEN, "n": name}).encode(),
                now=T0,
            )
    claimed = {d.delivery_id: d for d in queue.claim(engine, owner="w", now=T0, lease_seconds=60, limit=3)}
    queue.complete(engine, claimed["gh-done"].id, owner="w", now=T0)  # type: ignore[arg-type]
    queue.fail(
        engine,
        claimed["gh-dead"].id,
        owner="w",
        error="Invalid: 422 title too long\ntrace",
        now=T0,
        retry_at=None,
    )  # type: ignore[arg-type]
    queue.release(engine, "w")
    return {d.delivery_id.removeprefix("gh-"): d.id for d in queue.list_deliveries(engine)}  # type: ignore[misc]


def test_migrate_builds_an_empty_database_then_has_nothing_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = cli("migrate", url=url)
    assert first.exit_code == 0, first.output
    assert f"migrated (empty) -> {head_revision()}" in first.stdout
    second = cli("migrate", url=url)
    assert second.exit_code == 0 and f"already at {head_revision()}" in second.stdout


def test_migrate_on_the_test_database_is_a_no_op(db_url: str) -> None:
    result = cli("migrate", url=db_url)
    assert result.exit_code == 0 and "already at" in result.stdout
    assert "password" not in result.stdout


def test_a_malformed_setting_is_one_line_and_exit_2(db_url: str) -> None:
    result = cli("deliveries", "list", url=db_url, READINESS_WORKER_CONCURRENCY="lots")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "READINESS_WORKER_CONCURRENCY" in result.stderr


def test_list_shows_deliveries_and_filters_by_status(engine: Engine, db_url: str) -> None:
    ids = seed(engine)
    everything = cli("deliveries", "list", url=db_url)
    assert everything.exit_code == 0, everything.output
    for name in ("done", "dead", "pending"):
        assert f"gh-{name}" in everything.stdout
    assert "issues.edited" in everything.stdout and "github:acme/web" in everything.stdout
    assert TOKEN not in everything.stdout

    dead = cli("deliveries", "list", "--status", "dead", url=db_url)
    assert dead.exit_code == 0
    assert "gh-dead" in dead.stdout and "gh-done" not in dead.stdout and "gh-pending" not in dead.stdout
    assert "Invalid: 422 title too long" in dead.stdout and str(ids["dead"]) in dead.stdout


def test_list_rejects_an_unknown_status(db_url: str) -> None:
    result = cli("deliveries", "list", "--status", "failed", url=db_url)
    assert result.exit_code == 2 and "failed" in result.output


def test_show_prints_details_but_never_the_payload(engine: Engine, db_url: str) -> None:
    ids = seed(engine)
    result = cli("deliveries", "show", str(ids["dead"]), url=db_url)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    assert lines["delivery id"].strip() == "gh-dead"
    assert lines["event"].strip() == "issues" and lines["action"].strip() == "edited"
    assert lines["repository"].strip() == "github:acme/web"
    assert lines["status"].strip() == "dead" and lines["attempts"].strip() == "1"
    assert lines["payload size"].strip().endswith("bytes")
    assert "422 title too long" in lines["last error"]
    assert TOKEN not in result.output


def test_show_and_retry_of_an_unknown_id_say_so(db_url: str) -> None:
    for command in ("show", "retry"):
        result = cli("deliveries", command, "4242", url=db_url)
        assert result.exit_code == 1 and "no delivery with id 4242" in result.stderr


def test_retry_requeues_a_dead_delivery_and_refuses_others(engine: Engine, db_url: str) -> None:
    ids = seed(engine)
    result = cli("deliveries", "retry", str(ids["dead"]), url=db_url)
    assert result.exit_code == 0, result.output
    assert "queued again" in result.stdout
    d = queue.get(engine, ids["dead"])
    assert d is not None and (d.status, d.attempts) == ("pending", 0)

    again = cli("deliveries", "retry", str(ids["done"]), url=db_url)
    assert again.exit_code == 1 and "is done, not dead" in again.stderr


def test_an_unmigrated_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = cli("deliveries", "list", url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 1
    assert "readiness migrate" in result.stderr and "Traceback" not in result.output


@pytest.mark.slow
def test_worker_processes_then_stops_gracefully_on_sigterm(engine: Engine, db_url: str) -> None:
    ping = {"zen": "Design for failure.", "hook_id": 1, "repository": {"full_name": "acme/api", "id": 7}}
    with session_scope(engine) as s:
        queue.enqueue(
            s,
            platform="github",
            delivery_id="ping-1",
            event="ping",
            action=None,
            installation_id=None,
            repo_key="github:acme/api",
            payload=json.dumps(ping).encode(),
        )
    env = os.environ | {"READINESS_DATABASE_URL": db_url, "READINESS_LOG_FORMAT": "json"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "worker", "--metrics-port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        events = []
        assert proc.stdout is not None
        for line in proc.stdout:  # blocks until the worker logs; no sleeping
            events.append(json.loads(line))
            if events[-1]["event"] == "delivery done":
                break
        assert events[-1]["delivery_id"] == "ping-1" and events[-1]["repo"] == "github:acme/api"
        url = next(e["url"] for e in events if e["event"] == "metrics listening")
        scraped = httpx.get(url, timeout=10).text  # the worker's own counters, on its own port
        assert (
            'readiness_deliveries_processed_total{event="ping",outcome="done",platform="github"} 1.0'
            in scraped
        )
        base = url.removesuffix("/metrics")  # the same port answers real probes, and 404 elsewhere
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{base}/readyz", timeout=10).json() == {"status": "ready"}
        assert httpx.get(f"{base}/anything-else", timeout=10).status_code == 404
        proc.send_signal(signal.SIGTERM)
        rest = [json.loads(line) for line in proc.stdout]
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rest[-1]["event"] == "worker stopped"
    assert queue.get(engine, 1).status == "done"  # type: ignore[union-attr]


def test_a_busy_metrics_port_is_one_line_not_a_traceback(engine: Engine, db_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("worker", "--metrics-port", str(port), url=db_url)
    assert result.exit_code == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.output
