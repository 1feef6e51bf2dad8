"""`readiness migrate`, `readiness worker` and `readiness deliveries list|show|retry` (operators).

Settings errors print one line and exit 2; an unreachable or unmigrated database prints one line
and exits 1. Payloads and headers are never printed: they may carry tokens or private content.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import app
from bot.config import Settings, SettingsError, load_settings
from bot.platforms import registry as _registry  # noqa: F401  (every platform's settings, for load_settings)
from bot.store import queue
from bot.store.db import make_engine, normalize_url
from bot.store.models import Delivery

EXIT_FAILURE = 1
EXIT_USAGE = 2

deliveries_app = typer.Typer(
    help="Inspect and retry stored webhook deliveries.", no_args_is_help=True, add_completion=False
)
app.add_typer(deliveries_app, name="deliveries")


class Status(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    dead = "dead"


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    typer.echo(f"readiness: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc), EXIT_USAGE)


def _shown(url: str) -> str:
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """An engine; database errors become one line (with a hint) instead of a traceback."""
    engine = make_engine(settings.database_url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)  # the driver's error, when SQLAlchemy wraps one
        reason = str(exc if orig is None else orig).splitlines()[0]
        _fail(f"database {_shown(settings.database_url)}: {reason} (has `readiness migrate` run?)")
    finally:
        engine.dispose()


def _when(value: datetime | None, suffix: str = "") -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") + suffix if value is not None else "-"


# ---------------------------------------------------------------------------------- migrate


@app.command()
def migrate() -> None:
    """Apply database migrations (run once per release on PostgreSQL, before the replicas)."""
    from bot.store.migrate import upgrade

    settings = _settings()
    try:
        before, after = upgrade(settings.database_url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        _fail(f"cannot migrate {_shown(settings.database_url)}: {reason}")
    target = _shown(settings.database_url)
    if before == after:
        typer.echo(f"{target}: already at {after}")
    else:
        typer.echo(f"{target}: migrated {before or '(empty)'} -> {after}")


# ----------------------------------------------------------------------------------- worker


@app.command()
def worker(
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds jobs in flight may finish after SIGTERM before release.")
    ] = 25.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve this worker's /metrics, /healthz and /readyz on this port; 0 picks a free one.",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address for --metrics-port (0.0.0.0 in containers).")
    ] = "127.0.0.1",
) -> None:
    """Process stored deliveries until SIGTERM/SIGINT (split deployments; `serve` includes one)."""
    from bot.jobs import health
    from bot.jobs.handlers import make_handler
    from bot.jobs.worker import Worker
    from bot.logging import configure_logging, get_logger
    from bot.store.db import is_sqlite
    from bot.store.migrate import SchemaOutdated, database_problem, ensure_schema

    settings = _settings()
    configure_logging(settings)
    engine = make_engine(settings.database_url, jobs=settings.worker_concurrency)
    try:
        ensure_schema(engine, auto_migrate=is_sqlite(engine))
    except SchemaOutdated as exc:
        engine.dispose()
        _fail(str(exc))
    except SQLAlchemyError as exc:
        engine.dispose()
        _fail(f"cannot use the database {_shown(settings.database_url)}: {type(exc).__name__}")

    metrics = None
    heartbeat = health.Heartbeat()
    heartbeat.starting = True  # building the handler (templates, clients) takes a while: not ready
    if metrics_port is not None:
        # the jobs' counters (not the queue's) and real probes: liveness = the loop turns,
        # readiness = database reachable, schema current, not stopping
        probe = health.health_app(
            heartbeat,
            lambda: database_problem(engine),
            max_beat_age=max(60.0, 5 * settings.poll_interval_seconds),
        )
        try:
            metrics, _ = health.serve(metrics_host, metrics_port, probe)
        except OSError as exc:
            engine.dispose()
            _fail(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}")
        host, port = metrics.socket.getsockname()[:2]  # (what server_address holds, typed as str)
        get_logger("bot.cli.worker").info("metrics listening", url=f"http://{host}:{port}/metrics")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Worker(
            engine, make_handler(settings, engine), settings, grace_seconds=grace, heartbeat=heartbeat
        ).run(stop)

    try:
        asyncio.run(main())
    finally:
        if metrics is not None:
            metrics.shutdown()
        engine.dispose()


# ------------------------------------------------------------------------------- deliveries


@deliveries_app.command("list")
def list_(
    status: Annotated[Status | None, typer.Option(help="Only deliveries in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 50,
) -> None:
    """Stored deliveries, newest first."""
    settings = _settings()
    with _database(settings) as engine:
        rows = queue.list_deliveries(engine, status=status.value if status else None, limit=limit)
    table = Table(
        title=f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}" + (f" ({status})" if status else "")
    )
    for column in (
        "ID",
        "Platform",
        "Delivery",
        "Event",
        "Repository",
        "Status",
        "Attempts",
        "Received",
        "Last error",
    ):
        table.add_column(column, overflow="fold", justify="right" if column in ("ID", "Attempts") else "left")
    for d in rows:
        table.add_row(
            str(d.id),
            d.platform,
            d.delivery_id,
            f"{d.event}.{d.action}" if d.action else d.event,
            d.repo_key or "-",
            d.status,
            str(d.attempts),
            _when(d.received_at),
            ((d.last_error or "").splitlines() or [""])[0][:80],
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # piped: do not fold ids


def _get(engine: Engine, delivery_id: int) -> Delivery:
    delivery = queue.get(engine, delivery_id)
    if delivery is None:
        _fail(f"no delivery with id {delivery_id} (see `readiness deliveries list`)")
    return delivery


@deliveries_app.command()
def show(delivery_id: Annotated[int, typer.Argument(metavar="ID", help="The ID column of `list`.")]) -> None:
    """One delivery's details (never its payload or headers)."""
    settings = _settings()
    with _database(settings) as engine:
        d = _get(engine, delivery_id)
    fields = [
        ("id", str(d.id)),
        ("platform", d.platform),
        ("delivery id", d.delivery_id),
        ("event", d.event),
        ("action", d.action or "-"),
        ("installation", str(d.installation_id) if d.installation_id is not None else "-"),
        ("repository", d.repo_key or "-"),
        ("status", d.status),
        ("attempts", str(d.attempts)),
        ("received", _when(d.received_at, " UTC")),
        ("next attempt", _when(d.next_attempt_at, " UTC") if d.status == "pending" else "-"),
        ("finished", _when(d.finished_at, " UTC")),
        ("lease", f"{d.lease_owner} until {_when(d.lease_until, ' UTC')}" if d.lease_owner else "-"),
        ("payload size", f"{len(d.payload)} bytes"),
    ]
    for name, value in fields:
        typer.echo(f"{name + ':':<14}{value}")
    typer.echo(f"{'last error:':<14}{d.last_error or '-'}")


@deliveries_app.command()
def retry(delivery_id: Annotated[int, typer.Argument(metavar="ID", help="The ID column of `list`.")]) -> None:
    """Send a dead-lettered delivery back to the queue, with its attempts reset."""
    settings = _settings()
    with _database(settings) as engine:
        before = _get(engine, delivery_id)
        if before.status != queue.DEAD:
            _fail(f"delivery {delivery_id} is {before.status}, not dead: nothing to retry")
        queue.retry(engine, delivery_id)
    typer.echo(f"delivery {delivery_id} ({before.event}, {before.repo_key or 'no repository'}) queued again")
