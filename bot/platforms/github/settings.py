"""What the GitHub package reads from the environment (READINESS_GITHUB_*): the App and its hook."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr, field_validator

from bot.config import PlatformSettings, long_enough


class GitHubSettings(PlatformSettings):
    secret_fields: ClassVar[tuple[str, ...]] = ("github_webhook_secret", "github_private_key")

    github_webhook_secret: SecretStr | None = None
    # the GitHub App
    github_app_id: int | None = None
    github_private_key: SecretStr | None = None  # PEM text
    github_api_url: str = "https://api.github.com"
    github_bot_login: str | None = None  # e.g. "readiness-bot[bot]"; learned from the API if unset

    _long_enough = field_validator("github_webhook_secret")(long_enough)
