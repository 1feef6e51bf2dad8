"""What the GitLab package reads from the environment (READINESS_GITLAB_*): instance, token, hooks."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import SecretStr, field_validator

from bot.config import PlatformSettings, long_enough


class GitLabSettings(PlatformSettings):
    secret_fields: ClassVar[tuple[str, ...]] = (
        "gitlab_webhook_secret",
        "gitlab_signing_secret",
        "gitlab_token",
    )

    gitlab_webhook_secret: SecretStr | None = None  # the X-Gitlab-Token value
    gitlab_signing_secret: SecretStr | None = None  # whsec_… for GitLab's signed webhooks
    # With a signing secret set, token-only GitLab deliveries are refused unless this is true
    # (a migration from token to signed hooks); logged at start while it is on.
    gitlab_allow_unsigned: bool = False
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: SecretStr | None = None
    gitlab_defaults_project: str | None = None  # group-level project holding the org `.readiness.yml`
    # auto: sections become child tasks of the epic (GraphQL) where the instance allows, else links
    gitlab_hierarchy: Literal["auto", "links"] = "auto"

    _long_enough = field_validator("gitlab_webhook_secret")(long_enough)
