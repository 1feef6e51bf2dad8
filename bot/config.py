"""Process settings from the environment (READINESS_*): the only reader of os.environ.

Every secret also has a `*_FILE` variant (container secrets): READINESS_FOO_FILE=/run/secrets/foo
reads the value from that file. Secrets are `SecretStr`, so they never print in logs or reprs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = (
    "github_webhook_secret",
    "gitlab_webhook_secret",
    "gitlab_signing_secret",
    "github_private_key",
    "gitlab_token",
    "encryption_key",
    "setup_token",
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="READINESS_", extra="ignore", frozen=True)

    # storage
    database_url: str = "sqlite:///readiness.db"

    # webhooks
    github_webhook_secret: SecretStr | None = None
    gitlab_webhook_secret: SecretStr | None = None  # the X-Gitlab-Token value
    gitlab_signing_secret: SecretStr | None = None  # whsec_… for GitLab's signed webhooks
    max_body_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    webhook_tolerance_seconds: int = Field(default=300, gt=0)  # signed-webhook timestamp skew

    # GitHub App
    github_app_id: int | None = None
    github_private_key: SecretStr | None = None  # PEM text
    github_api_url: str = "https://api.github.com"
    github_bot_login: str | None = None  # e.g. "readiness-bot[bot]"; learned from the API if unset

    # GitLab
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: SecretStr | None = None
    gitlab_defaults_project: str | None = None  # group-level project holding the org `.readiness.yml`
    # auto: sections become child tasks of the epic (GraphQL) where the instance allows, else links
    gitlab_hierarchy: Literal["auto", "links"] = "auto"

    # worker
    worker_concurrency: int = Field(default=4, gt=0)
    max_attempts: int = Field(default=8, gt=0)
    lease_seconds: int = Field(default=300, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    poll_interval_seconds: float = Field(default=1.0, gt=0)

    # operations
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    encryption_key: SecretStr | None = None  # Fernet key for secrets stored in the database
    resync_interval_hours: float = Field(default=24.0, gt=0)

    # GitHub App setup flow (GET /setup while no App is configured)
    public_url: str | None = None  # https://bot.example.com: where GitHub reaches the bot
    setup_token: SecretStr | None = None  # default: a random one, printed in the log at start

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: dict) -> dict:
        """READINESS_<NAME>_FILE fills <name> from a file when <name> itself is not set."""
        if not isinstance(data, dict):
            return data
        for name in SECRET_FIELDS:
            env = f"READINESS_{name.upper()}_FILE"
            path = os.environ.get(env) or data.get(f"{name}_file")
            if path and not data.get(name):
                try:
                    data[name] = Path(path).read_text().strip()
                except OSError as exc:
                    raise ValueError(f"{env}={path}: cannot read the file ({exc.strerror})") from exc
        return data

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; raises SettingsError with one clear line on bad input."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        env = f"READINESS_{name.upper()}" if name != "settings" else "settings"
        msg = err.get("msg", "invalid value").removeprefix("Value error, ")
        raise SettingsError(f"{env}: {msg}") from None
