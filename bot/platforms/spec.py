"""What the bot must know about one platform, as data: a `PlatformSpec` per platform package.

Everything outside the platform packages asks the registry (`bot.platforms.registry`) for these
instead of branching on a platform's name, so a platform is added by writing its package and
registering its spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.events import Event, Platform

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import PlatformSettings, Settings
    from bot.platforms.base import PlatformClient
    from bot.secrets import SecretStore


class Unidentified(Exception):
    """The delivery lacks the headers that name its event or its id (400); the message says which."""


class Verifier(Protocol):
    """A platform's webhook check with the secrets it was built with."""

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> None:
        """Raise `VerificationError` unless the delivery is authentic."""

    def reload(self, found: Mapping[str, str]) -> bool:
        """Take secrets stored after start-up (settings field name -> value); True if any changed."""


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    platform: Platform  # its name: `/webhooks/<name>`, `Delivery.platform`, the clients' key
    settings: type[PlatformSettings]  # what it reads from the environment: `settings.platform(model)`
    verifier: Callable[[Settings], Verifier]
    identify: Callable[[Mapping[str, str], bytes], tuple[str, str]]  # (event, delivery id) or Unidentified
    normalize: Callable[[str, dict[str, Any]], Event]  # may raise `payload.Unusable`
    delivery_id_header: str  # the sender's delivery id, logged when a delivery is rejected
    check_settings: Callable[[Settings], list[str]]  # warnings; SettingsError stops start-up
    client: Callable[[Settings, Engine | None], PlatformClient | None]  # None: not configured
    client_settings: str  # what configures the client, for "not configured" messages
    codeowners_locations: tuple[str, ...]  # where it looks for CODEOWNERS, first found wins
    org_defaults_source: Callable[[str, str | None], str | None]  # (owner, configured) -> repository
    org_defaults_setting: Callable[[Settings], str | None]  # the configured org-defaults repository
    account: Callable[[dict[str, Any]], str | None]  # the installation's account in a payload
    stored_secrets: Callable[[Settings, SecretStore], dict[str, str]] | None = None  # hook secrets

    @property
    def name(self) -> str:
        return self.platform
