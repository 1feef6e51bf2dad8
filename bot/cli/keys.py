"""`readiness keygen` and `readiness rotate-key`: the key that encrypts stored secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot.cli import app
from bot.config import SettingsError, load_settings
from bot.platforms import registry as _registry  # noqa: F401  (every platform's settings, for load_settings)

EXIT_SETTINGS = 2


def _fail(message: str, code: int = EXIT_SETTINGS) -> NoReturn:
    typer.echo(f"readiness: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def keygen() -> None:
    """Print a new READINESS_ENCRYPTION_KEY (a Fernet key); nothing is stored."""
    from bot.secrets import generate_key

    typer.echo(generate_key())


@app.command("rotate-key")
def rotate_key(
    new_key_file: Annotated[
        Path, typer.Option("--new-key-file", help="File holding the new key (from `readiness keygen`).")
    ],
) -> None:
    """Re-encrypt every stored secret under the key in --new-key-file, while the bot runs.

    READINESS_ENCRYPTION_KEY must still hold the current key; afterwards set it to the new one."""
    from bot.secrets import SecretStore, parse_keys
    from bot.store.db import make_engine
    from bot.store.migrate import ensure_schema

    try:
        settings = load_settings()
        if settings.encryption_key is None:
            raise SettingsError("READINESS_ENCRYPTION_KEY: not set; it must hold the current key")
        try:
            text = new_key_file.read_text().strip()
        except OSError as exc:
            raise SettingsError(
                f"--new-key-file {new_key_file}: cannot read the file ({exc.strerror})"
            ) from None
        new = parse_keys(text, setting=f"--new-key-file {new_key_file}")
        engine = make_engine(settings.database_url)
        ensure_schema(engine, auto_migrate=settings.is_sqlite)
        store = SecretStore(engine, parse_keys(settings.encryption_key.get_secret_value()))
        store.check()
        count = store.rotate(new)
    except SettingsError as exc:
        _fail(str(exc))
    typer.echo(f"re-encrypted {count} stored secret(s); now set READINESS_ENCRYPTION_KEY to the new key")
