"""`readiness gitlab connect|disconnect`: add or remove the bot's GitLab webhook in one command."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from bot.cli import app
from bot.config import SettingsError, load_settings
from bot.platforms import registry as _registry  # noqa: F401  (every platform's settings, for load_settings)

gitlab_app = typer.Typer(help="Connect GitLab projects or groups to the bot.", no_args_is_help=True)
app.add_typer(gitlab_app, name="gitlab")

Url = Annotated[str, typer.Option("--url", help="GitLab instance, e.g. https://gitlab.com.")]
Token = Annotated[
    str,
    typer.Option("--token", envvar="GITLAB_TOKEN", help="Token with Maintainer (project) or Owner (group)."),
]
Project = Annotated[str | None, typer.Option("--project", help="Project path, e.g. acme/api.")]
Group = Annotated[
    str | None, typer.Option("--group", help="Group path: a group hook, or one per project on Free.")
]
BotUrl = Annotated[
    str | None, typer.Option("--bot-url", help="The bot's public URL (default: READINESS_PUBLIC_URL).")
]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"readiness: {message}", err=True)
    raise typer.Exit(code)


def _run(
    action: str, url: str, token: str, project: str | None, group: str | None, bot_url: str | None
) -> None:
    import gitlab
    from gitlab.exceptions import GitlabError

    from bot.secrets import open_store
    from bot.setup.gitlab_connect import Connector
    from bot.setup.manifest import ManifestError, base_url
    from bot.store.db import make_engine
    from bot.store.migrate import SchemaOutdated, ensure_schema

    if (project is None) == (group is None):
        _fail("give exactly one of --project PATH or --group PATH")
    try:
        settings = load_settings()
        public = bot_url or settings.public_url
        if not public:
            raise SettingsError(
                "READINESS_PUBLIC_URL: not set (or pass --bot-url): where GitLab sends webhooks"
            )
        hook_url = base_url(public, "--bot-url" if bot_url else "READINESS_PUBLIC_URL") + "/webhooks/gitlab"
        instance = base_url(url)
        engine = make_engine(settings.database_url)
        ensure_schema(engine, auto_migrate=settings.is_sqlite)
        store = open_store(settings, engine)
        if store is None and action == "connect":
            raise SettingsError("READINESS_ENCRYPTION_KEY: not set; the hook token is stored encrypted")
    except (SettingsError, ManifestError, SchemaOutdated) as exc:
        _fail(str(exc))
    connector = Connector(gitlab.Gitlab(instance, private_token=token), hook_url, store)
    try:
        report = (connector.connect if action == "connect" else connector.disconnect)(
            project=project, group=group
        )
    except GitlabError as exc:
        _fail(f"GitLab answered {exc.response_code}: {exc.error_message}", 1)
    for line in report.lines:
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@gitlab_app.command()
def connect(
    url: Url, token: Token, project: Project = None, group: Group = None, bot_url: BotUrl = None
) -> None:
    """Add the bot's webhook (push, tag push, issues, notes, pipeline, job) and send a test hook."""
    _run("connect", url, token, project, group, bot_url)


@gitlab_app.command()
def disconnect(
    url: Url, token: Token, project: Project = None, group: Group = None, bot_url: BotUrl = None
) -> None:
    """Remove the hooks `connect` added (those pointing at the bot's URL)."""
    _run("disconnect", url, token, project, group, bot_url)
