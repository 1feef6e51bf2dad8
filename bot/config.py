"""Process settings from the environment (READINESS_*): the only reader of os.environ.

Every secret also has a `*_FILE` variant (container secrets): READINESS_FOO_FILE=/run/secrets/foo
reads the value from that file. Secrets are `SecretStr`, so they never print in logs or reprs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar, cast

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = ("encryption_key", "setup_token")  # the core's; each platform's settings name its own


MIN_SECRET_BYTES = 16


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it and why."""


def read_secret_files(data: Any, names: Iterable[str]) -> Any:
    """READINESS_<NAME>_FILE fills <name> from a file when <name> itself is not set."""
    if not isinstance(data, dict):
        return data
    for name in names:
        env = f"READINESS_{name.upper()}_FILE"
        path = os.environ.get(env) or data.get(f"{name}_file")
        if path and not data.get(name):
            try:
                data[name] = Path(path).read_text().strip()
            except OSError as exc:
                raise ValueError(f"{env}={path}: cannot read the file ({exc.strerror})") from exc
    return data


def long_enough(value: SecretStr | None) -> SecretStr | None:
    """A short shared secret can be guessed or brute-forced offline from one signed delivery."""
    if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"must be at least {MIN_SECRET_BYTES} bytes long (generate one: openssl rand -hex 32)"
        )
    return value


def settings_error(exc: ValidationError) -> SettingsError:
    """One clear line naming the variable: `READINESS_<FIELD>: why`."""
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err.get("loc", ())) or "settings"
    env = f"READINESS_{name.upper()}" if name != "settings" else "settings"
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    return SettingsError(f"{env}: {msg}")


class PlatformSettings(BaseSettings):
    """What one platform package reads from the environment: its spec's `settings` model.

    READINESS_* like the rest, with the same `*_FILE` variants for the fields it names in
    `secret_fields`. The core `Settings` knows none of these fields; a platform package reaches
    its own through `settings.platform(ItsSettings)`."""

    model_config = SettingsConfigDict(env_prefix="READINESS_", extra="ignore", frozen=True)
    secret_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        return read_secret_files(data, cls.secret_fields)


P = TypeVar("P", bound=PlatformSettings)
# Every registered platform's settings model (`bot.platforms.registry.register` declares them):
# `load_settings` reads each one at start-up, so a bad value stops the bot before it serves.
_DECLARED: dict[str, type[PlatformSettings]] = {}


def declare_platform_settings(name: str, model: type[PlatformSettings] | None) -> None:
    """Read `model` at every `load_settings` (None: the platform is gone, forget it)."""
    if model is None:
        _DECLARED.pop(name, None)
    else:
        _DECLARED[name] = model


class Settings(BaseSettings):
    # extra="allow": a platform's fields given as keywords (`Settings(github_app_id=…)`, stored
    # secrets via `model_copy(update=…)`) ride along until that platform's model reads them.
    model_config = SettingsConfigDict(env_prefix="READINESS_", extra="allow", frozen=True)

    # storage
    database_url: str = "sqlite:///readiness.db"

    # webhooks (each platform's own settings live in its package: bot/platforms/<name>/settings.py)
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

    _platforms: dict[type[PlatformSettings], PlatformSettings] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        return read_secret_files(data, SECRET_FIELDS)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def platform(self, model: type[P]) -> P:
        """One platform package's settings: the environment, under any of its fields this object
        was given as keywords. Read once per object; SettingsError names a bad variable."""
        found = self._platforms.get(model)
        if found is None:
            extra = self.model_extra or {}
            try:
                found = model(
                    **{k: v for k, v in extra.items() if k in model.model_fields or k.endswith("_file")}
                )
            except ValidationError as exc:
                raise settings_error(exc) from None
            self._platforms[model] = found
        return cast(P, found)

    def platforms(self) -> list[PlatformSettings]:
        """Every registered platform's settings (start-up checks, secrets to redact)."""
        return [self.platform(model) for model in _DECLARED.values()]

    def secrets(self) -> list[SecretStr]:
        """Every secret setting that is set, the core's and each platform's."""
        owners: list[tuple[BaseSettings, tuple[str, ...]]] = [(self, SECRET_FIELDS)]
        owners += [(p, p.secret_fields) for p in self.platforms()]
        found = (getattr(owner, name, None) for owner, names in owners for name in names)
        return [value for value in found if isinstance(value, SecretStr)]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        copied._platforms = {}  # the update may change a platform's fields: read them again
        return copied


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, every registered platform's too; raises SettingsError with
    one clear line on bad input."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise settings_error(exc) from None
    settings.platforms()
    return settings
