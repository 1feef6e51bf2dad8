"""The `readiness` command. Each sub-module registers its commands on `app`."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="readiness",
    help="Production-readiness checklists as issues that keep themselves true.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported for their side effect of adding commands to `app`; a module that does not exist
    # yet is skipped so the command works while the project grows.
    import importlib

    for name in ("check", "server", "deliveries"):
        try:
            importlib.import_module(f"bot.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bot.cli.{name}":
                raise


def main() -> None:
    _register()
    app()
