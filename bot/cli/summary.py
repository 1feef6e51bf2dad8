"""`readiness summary [REPO]`: post due weekly summaries now, or preview one with `--preview`.

The scheduler normally posts them through the queue; this runs the same job in the foreground,
for deployments that run no scheduler, for a repository whose summary should go out now that it
is due, and to read what the next summary will say before it is posted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import NoReturn

import typer

from bot.cli import app
from bot.cli.platforms import platform_option
from bot.config import SettingsError, load_settings
from bot.core.events import RepoRef
from bot.platforms.base import PlatformError

EXIT_FAILED = 1
EXIT_USAGE = 2
OUTCOMES = {
    "posted": "posted on the epic",
    "not-due": "not due yet this week",
    "claimed": "this week's summary is already posted",
    "off": "summaries are off in .readiness.yml",
    "no-epic": "no open epic issue",
    "no-config": "no valid .readiness.yml",
    "failed": "the platform failed; see the log",
}


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def summary(
    repo: str | None = typer.Argument(
        None, help="owner/name (GitLab: group/project path); all when omitted."
    ),
    platform: str = platform_option("Where REPO lives."),
    preview: bool = typer.Option(
        False, "--preview", help="Print REPO's summary as it would be posted now; post nothing."
    ),
) -> None:
    """Post the weekly summaries that are due (the scheduler's job), or preview one."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.jobs.context import Context
    from bot.jobs.summaries import SummaryJob, post_due_summaries
    from bot.logging import configure_logging
    from bot.platforms.factory import clients_from_settings
    from bot.platforms.registry import PLATFORMS, platform_named
    from bot.resources import load_shipped
    from bot.store.db import is_sqlite, make_engine
    from bot.store.migrate import SchemaOutdated, ensure_schema

    if preview and repo is None:
        _fail("--preview needs a repository: readiness summary OWNER/NAME --preview", EXIT_USAGE)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc), EXIT_USAGE)
    configure_logging(settings)  # logs go to stderr; stdout carries the outcomes or the preview
    engine = make_engine(settings.database_url)
    # posts draw on the installation's write budget in the database, shared with every worker
    clients = clients_from_settings(settings, pacing=engine)
    wanted = [platform] if repo is not None else list(clients)
    if not wanted or any(name not in clients for name in wanted):
        engine.dispose()
        needs = ", or ".join(spec.client_settings for spec in PLATFORMS.values())
        _fail(f"no platform is configured: set {needs}", EXIT_USAGE)
    try:
        ensure_schema(engine, auto_migrate=is_sqlite(engine))
    except (SchemaOutdated, SQLAlchemyError) as exc:
        engine.dispose()
        _fail(f"cannot use the database: {exc}", EXIT_FAILED)
    shipped, now = load_shipped(), datetime.now(UTC)
    only = RepoRef(platform_named(platform), repo) if repo is not None else None

    async def run() -> int:
        try:
            if only is not None and preview:
                job = SummaryJob(Context(engine, clients, shipped, clock=lambda: now))
                text = await job.preview(only)
                if text is None:
                    typer.echo(f"{only.full_name}: not tracked with a valid .readiness.yml", err=True)
                    return EXIT_FAILED
                typer.echo(text)
                return 0
            outcomes = await post_due_summaries(engine, clients, shipped, now, only=only)
        finally:
            for client in clients.values():
                await client.aclose()
        if only is not None and not outcomes:
            typer.echo(f"{only.full_name}: not tracked (it has had no sync)", err=True)
            return EXIT_FAILED
        for name, outcome in outcomes.items():
            typer.echo(f"{name}: {outcome} ({OUTCOMES.get(outcome, outcome)})")
        return EXIT_FAILED if "failed" in outcomes.values() else 0

    try:
        code = asyncio.run(run())
    except PlatformError as exc:
        _fail(f"{platform}: {exc}", EXIT_FAILED)
    finally:
        engine.dispose()
    raise typer.Exit(code)
