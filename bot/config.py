"""Process settings from the environment (READINESS_*): the only reader of os.environ.

Every secret also has a `*_FILE` variant (container secrets): READINESS_FOO_FILE=/run/secrets/foo
reads the value from that file. Secrets are `SecretStr`, so they never print in logs or reprs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
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


MIN_SECRET_BYTES = 16


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
    # With a signing secret set, token-only GitLab deliveries are refused unless this is true
    # (a migration from token to signed hooks); logged at start while it is on.
    gitlab_allow_unsigned: bool = False
    max_body_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # receiver limits (docs/security.md): request line + headers, header fields, the time to send
    # them and the body, simultaneous connections/requests (503 beyond), idle keep-alive
    max_header_bytes: int = Field(default=32 * 1024, gt=0)
    max_headers: int = Field(default=100, gt=0)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=1000, gt=0)
    keep_alive_seconds: float = Field(default=5.0, gt=0)
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
    # a killed worker's deliveries are taken over after at most this long; a running job renews
    # its lease every heartbeat_seconds (SQLite also takes over a dead process's claims at start)
    lease_seconds: int = Field(default=30, gt=0)
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    sync_settle_seconds: float = Field(default=2.0, ge=0)  # wait for a burst before one sync

    # operations
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    encryption_key: SecretStr | None = None  # Fernet key for secrets stored in the database
    resync_interval_hours: float = Field(default=24.0, gt=0)
    # a missing organisation default is asked for again after this (or its repository's next push)
    org_default_ttl_seconds: int = Field(default=600, ge=0)
    # `/readiness` comments one person may send per window before the bot asks them to wait
    command_rate_limit: int = Field(default=10, gt=0)
    command_rate_window_seconds: int = Field(default=600, gt=0)

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

    @field_validator("github_webhook_secret", "gitlab_webhook_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        """A short shared secret can be guessed or brute-forced offline from one signed delivery."""
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_SECRET_BYTES} bytes long (generate one: openssl rand -hex 32)"
            )
        return value

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
