"""GitHub as the registry sees it: its webhook check, event names, client and conventions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.platforms.github.normalize import GITHUB, normalize
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.github.verify import verify_github
from bot.platforms.spec import PlatformSpec, Unidentified

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import Settings
    from bot.platforms.base import PlatformClient

DELIVERY_HEADER = "x-github-delivery"
EVENT_HEADER = "x-github-event"


class GitHubVerifier:
    def __init__(self, settings: Settings) -> None:
        secret = settings.platform(GitHubSettings).github_webhook_secret
        self.secret = secret.get_secret_value() if secret else None

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> None:
        verify_github(self.secret, body, headers)

    def reload(self, found: Mapping[str, str]) -> bool:
        return False  # a stored App's secret arrives through `Receiver.configure`


def identify(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    event, delivery = headers.get(EVENT_HEADER), headers.get(DELIVERY_HEADER)
    if not event or not delivery:
        raise Unidentified("missing X-GitHub-Event or X-GitHub-Delivery")
    return event, delivery


def check_settings(settings: Settings) -> list[str]:
    if settings.platform(GitHubSettings).github_webhook_secret is None:
        return [
            "READINESS_GITHUB_WEBHOOK_SECRET is not set: every POST /webhooks/github will be refused (401)"
        ]
    return []


def client(settings: Settings, pacing: Engine | None) -> PlatformClient | None:
    own = settings.platform(GitHubSettings)
    if own.github_app_id is None or own.github_private_key is None:
        return None
    from bot.platforms.github.client import GitHubClient

    return GitHubClient(settings, pacing=pacing)


def account(payload: dict[str, Any]) -> str | None:
    found = (payload.get("installation") or {}).get("account") or {}
    login = found.get("login") if isinstance(found, dict) else None
    return login if isinstance(login, str) else None


SPEC = PlatformSpec(
    platform=GITHUB,
    settings=GitHubSettings,
    verifier=GitHubVerifier,
    identify=identify,
    normalize=normalize,
    delivery_id_header=DELIVERY_HEADER,
    check_settings=check_settings,
    client=client,
    client_settings="READINESS_GITHUB_APP_ID and READINESS_GITHUB_PRIVATE_KEY",
    codeowners_locations=(".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"),
    org_defaults_source=lambda owner, configured: f"{owner}/.github",
    org_defaults_setting=lambda settings: None,
    account=account,
)
