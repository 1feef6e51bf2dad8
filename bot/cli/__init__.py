"""The `readiness` command. Each sub-module registers its commands on `app`.

`readiness check` must start fast in CI, so `main()` imports only the module that owns the
command being run (the server modules pull in FastAPI, githubkit and SQLAlchemy); `--help` and
unknown commands import everything so the listing is complete.
"""

from __future__ import annotations

import importlib
import sys

import typer

from bot import __version__

app = typer.Typer(
    name="readiness",
    help="Production-readiness checklists as issues that keep themselves true.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"readiness {__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
    ),
) -> None:
    # main() may import a single command's module; without a callback Typer would run a lone
    # command for `readiness` itself and reject its name as an extra argument.
    pass


MODULES = ("check", "server", "deliveries", "sync", "summary", "exemptions", "keys", "manifest", "gitlab")
OWNER = {
    "check": "check",
    "validate": "check",
    "templates": "check",
    "schema": "check",
    "serve": "server",
    "migrate": "deliveries",
    "worker": "deliveries",
    "deliveries": "deliveries",
    "sync": "sync",
    "summary": "summary",
    "exemptions": "exemptions",
    "keygen": "keys",
    "rotate-key": "keys",
    "app-manifest": "manifest",
    "gitlab": "gitlab",
}


def _register(command: str | None = None) -> None:
    """Import the module owning `command` (all of them when None or unknown)."""
    owner = OWNER.get(command or "")
    for name in (owner,) if owner else MODULES:
        importlib.import_module(f"bot.cli.{name}")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    _register(args[0] if args else None)
    app()
