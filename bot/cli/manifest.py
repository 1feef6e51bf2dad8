"""`readiness app-manifest`: the GitHub App manifest for registering the App by hand."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.cli import app


@app.command("app-manifest")
def app_manifest(
    url: Annotated[str, typer.Option("--url", help="The bot's public URL, e.g. https://bot.example.com.")],
    org: Annotated[
        str | None, typer.Option("--org", help="Organisation that will own the App (default: your account).")
    ] = None,
) -> None:
    """Print the App manifest (JSON) with the public URL filled in; the page to paste it into
    goes to stderr."""
    from bot.setup.manifest import GITHUB_COM, ManifestError, manifest_for, new_app_url

    try:
        manifest = manifest_for(url)
        target = new_app_url(GITHUB_COM, org)
    except ManifestError as exc:
        typer.echo(f"readiness: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(manifest, indent=2))
    typer.echo(f"register it at {target} (GitHub Enterprise Server: the same path on your host)", err=True)
