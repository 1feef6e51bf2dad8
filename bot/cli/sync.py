"""`readiness sync REPO`: run one repository's sync now, or preview it with `--dry-run`."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli import app
from bot.cli.platforms import platform_option
from bot.config import SettingsError, load_settings
from bot.core.events import Platform, RepoRef
from bot.platforms.base import PlatformClient, PlatformError
from bot.platforms.factory import DryRunClient, clients_from_settings
from bot.platforms.registry import platform_named, spec_for
from bot.resources import load_shipped

if TYPE_CHECKING:
    from sqlalchemy import Engine


@app.command()
def sync(
    repo: str = typer.Argument(..., help="owner/name (GitLab: group/project path)."),
    platform: str = platform_option("Where the repository lives."),
    installation: int | None = typer.Option(None, help="GitHub App installation id (looked up if omitted)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read the repository, print the writes a sync would make, make none."
    ),
) -> None:
    """Sync one repository's checklist issues now (the same job a webhook triggers)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from bot.store.db import make_engine

    # writes draw on the installation's budget in the database, shared with every worker
    engine = make_engine(settings.database_url)
    clients = clients_from_settings(settings, pacing=engine)
    if platform not in clients:
        need = spec_for(platform).client_settings
        typer.echo(f"error: {platform} is not configured: set {need}", err=True)
        engine.dispose()
        raise typer.Exit(2)
    try:
        code = asyncio.run(_run(engine, clients, platform_named(platform), repo, installation, dry_run))
    except PlatformError as exc:
        typer.echo(f"error: {platform}: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    raise typer.Exit(code)


async def _run(
    database: Engine,
    clients: dict[str, PlatformClient],
    platform: Platform,
    repo: str,
    installation: int | None,
    dry_run: bool,
) -> int:
    from bot.jobs.router import Router
    from bot.store.db import make_engine
    from bot.store.migrate import upgrade_engine

    client: PlatformClient = clients[platform]
    dry: DryRunClient | None = None
    with tempfile.TemporaryDirectory() as tmp:
        if dry_run:
            # A scratch database: the preview must not record anything either. The planned
            # actions are printed by the single writer; the platform is wrapped as well, so a
            # write that bypassed it would be refused (and shown) rather than made.
            engine = make_engine(f"sqlite:///{Path(tmp) / 'dry-run.db'}")
            upgrade_engine(engine)
            client = dry = DryRunClient(client)
        else:
            engine = database
        handler = Router(engine, {platform: client}, load_shipped(), dry_run=dry_run)
        try:
            result = await handler.sync(RepoRef(platform, repo), installation_id=installation)
        finally:
            await client.aclose()
            engine.dispose()
    if dry is not None:
        planned = handler.ctx.planned + [line for p in dry.platforms for line in p.planned]
        for line in planned:
            typer.echo(f"would {line}")
        typer.echo(f"{result.outcome}: {len(planned)} write(s) planned, none made")
    else:
        typer.echo(f"{result.outcome}: {result.writes} write(s), {result.changed_items} item(s) changed")
    for note in result.notes:
        typer.echo(note, err=True)
    return 0 if result.outcome in ("synced", "no-config") else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
