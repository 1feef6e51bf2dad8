"""`readiness serve`: the webhook receiver, worker and scheduler in one process (uvicorn).

`--no-worker` / `--no-scheduler` split them for scaled deployments (receiver replicas behind a
load balancer, worker replicas sharing the PostgreSQL queue). SIGTERM is graceful: uvicorn
stops accepting connections and finishes the requests in flight, then the app commits what it
acknowledged, lets running jobs finish (or releases their claims) and exits with status 0.
"""

from __future__ import annotations

import gc
import signal
from typing import Annotated, Any, NoReturn

import typer

from bot.cli import app
from bot.config import Settings, SettingsError, load_settings
from bot.platforms import registry as _registry  # noqa: F401  (every platform's settings, for load_settings)

EXIT_SETTINGS = 2
EXIT_SCHEMA = 1


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"readiness: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 in containers).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Receive and store webhooks only; workers run elsewhere.")
    ] = False,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not run weekly summaries and periodic resyncs here.")
    ] = False,
) -> None:
    """Serve webhooks (POST /webhooks/github, /webhooks/gitlab), /healthz, /readyz and /metrics."""
    import uvicorn

    from bot.app import create_app, prepare_schema
    from bot.logging import configure_logging
    from bot.secrets import open_store
    from bot.store.migrate import SchemaOutdated

    try:
        settings = load_settings()
        configure_logging(settings)
        web = create_app(settings, start_worker=not no_worker, start_scheduler=not no_scheduler)
    except SettingsError as exc:
        _fail(str(exc), EXIT_SETTINGS)
    try:
        prepare_schema(web.state.engine)  # fail here with one line, not a lifespan traceback
    except SchemaOutdated as exc:
        _fail(str(exc), EXIT_SCHEMA)
    except Exception as exc:
        _fail(f"cannot use the database: {type(exc).__name__}: {exc}", EXIT_SCHEMA)
    try:
        open_store(settings, web.state.engine)  # stored secrets need READINESS_ENCRYPTION_KEY
    except SettingsError as exc:
        _fail(str(exc), EXIT_SETTINGS)
    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        loop="uvloop",
        lifespan="on",
        **server_limits(settings),
        log_config=None,  # our logging (bot.logging) already handles uvicorn's loggers
        access_log=False,  # the receiver logs each delivery itself, with its id
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    # uvicorn re-raises the stop signal once it has shut down gracefully; with Python's default
    # handler that ends the process as "killed by SIGTERM" (143) or with a KeyboardInterrupt.
    # A completed graceful stop is a success: these handlers swallow the re-raise, so it exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    tune_gc()
    uvicorn.Server(config).run()


GC_YOUNG = 10_000  # allocations between collections of the youngest generation (Python: 700)


def tune_gc() -> None:
    """Fewer cyclic collections on the acknowledgement path: every delivery allocates its parsed
    payload (thousands of objects, no cycles), so at Python's default threshold a collection ran
    every few requests and each re-traversed everything imported; freezing what start-up made
    takes it out of every later traversal. CPU per acknowledged delivery fell by about a quarter
    (in-process, 4,000 pushes: ~280 -> ~205 us); cyclic garbage is still collected, later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 10, 10)


def server_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn options that bound what one client can hold (docs/security.md): the HTTP protocol
    with header size/count limits and a header deadline, the number of connections and requests
    at once (503 beyond), how long an idle keep-alive connection stays open."""
    from bot.webhooks.limits import limited_protocol

    return {
        "http": limited_protocol(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout=settings.header_timeout_seconds,
        ),
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,  # if h11 is ever chosen
    }


def _stopped(_signum: int, _frame: object) -> None:
    """Runs only for the signal uvicorn re-raises after its own handlers finished the stop."""
