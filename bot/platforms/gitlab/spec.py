"""GitLab as the registry sees it: its webhook check, hook names, client and conventions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.config import MIN_SECRET_BYTES, SettingsError
from bot.platforms.gitlab.normalize import GITLAB, normalize
from bot.platforms.gitlab.settings import GitLabSettings
from bot.platforms.gitlab.verify import verify_gitlab
from bot.platforms.spec import PlatformSpec, Unidentified
from bot.webhooks.verify import signing_key

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import Settings
    from bot.platforms.base import PlatformClient
    from bot.secrets import SecretStore

DEDUPE_HEADERS = ("webhook-id", "idempotency-key", "x-gitlab-event-uuid")
EVENT_HEADER = "x-gitlab-event"


class GitLabVerifier:
    def __init__(self, settings: Settings) -> None:
        own = settings.platform(GitLabSettings)
        token, signing = own.gitlab_webhook_secret, own.gitlab_signing_secret
        self.token = token.get_secret_value() if token else None
        self.signing = signing.get_secret_value() if signing else None
        self.tolerance_seconds = settings.webhook_tolerance_seconds
        self.allow_unsigned = own.gitlab_allow_unsigned

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> None:
        verify_gitlab(
            self.token,
            self.signing,
            body,
            headers,
            now=now,
            tolerance_seconds=self.tolerance_seconds,
            allow_unsigned=self.allow_unsigned,
        )

    def reload(self, found: Mapping[str, str]) -> bool:
        """Hook secrets `readiness gitlab connect` stored while the bot runs."""
        fresh = (
            found.get("gitlab_webhook_secret", self.token),
            found.get("gitlab_signing_secret", self.signing),
        )
        changed = fresh != (self.token, self.signing)
        self.token, self.signing = fresh
        return changed


def identify(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    event = headers.get(EVENT_HEADER)
    if not event:
        raise Unidentified("missing X-Gitlab-Event")
    for name in DEDUPE_HEADERS:
        if value := headers.get(name):
            return event, value
    return event, "sha256:" + hashlib.sha256(body).hexdigest()  # no id sent: same body, same key


def check_settings(settings: Settings) -> list[str]:
    own = settings.platform(GitLabSettings)
    if own.gitlab_signing_secret is not None:
        try:
            key = signing_key(own.gitlab_signing_secret.get_secret_value())
        except ValueError as exc:
            raise SettingsError(f"READINESS_GITLAB_SIGNING_SECRET: {exc}") from None
        if len(key) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"READINESS_GITLAB_SIGNING_SECRET: the key must be at least {MIN_SECRET_BYTES} bytes long"
            )
    warnings = []
    if own.gitlab_allow_unsigned and own.gitlab_signing_secret is not None:
        warnings.append(
            "READINESS_GITLAB_ALLOW_UNSIGNED=true: GitLab deliveries with only X-Gitlab-Token are accepted "
            "although READINESS_GITLAB_SIGNING_SECRET is set (no replay protection); turn it off once "
            "every hook is signed"
        )
    if own.gitlab_webhook_secret is None and own.gitlab_signing_secret is None:
        warnings.append(
            "neither READINESS_GITLAB_WEBHOOK_SECRET nor READINESS_GITLAB_SIGNING_SECRET is set: "
            "every POST /webhooks/gitlab will be refused (401) until `readiness gitlab connect` "
            "stores a hook token"
        )
    return warnings


def client(settings: Settings, pacing: Engine | None) -> PlatformClient | None:
    if settings.platform(GitLabSettings).gitlab_token is None:
        return None
    from bot.platforms.gitlab.client import GitLabClient

    return GitLabClient(settings, pacing=pacing)


def stored_secrets(settings: Settings, store: SecretStore) -> dict[str, str]:
    from bot.secrets import stored_gitlab_secrets

    return stored_gitlab_secrets(settings, store)


def no_account(payload: dict[str, Any]) -> str | None:
    return None  # GitLab has no installations


SPEC = PlatformSpec(
    platform=GITLAB,
    settings=GitLabSettings,
    verifier=GitLabVerifier,
    identify=identify,
    normalize=normalize,
    delivery_id_header="idempotency-key",
    check_settings=check_settings,
    client=client,
    client_settings="READINESS_GITLAB_TOKEN",
    codeowners_locations=("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"),
    org_defaults_source=lambda owner, configured: configured,
    org_defaults_setting=lambda settings: settings.platform(GitLabSettings).gitlab_defaults_project,
    account=no_account,
    stored_secrets=stored_secrets,
)
