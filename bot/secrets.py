"""Secrets at rest: what the bot obtains itself (the GitHub App from the setup flow, the GitLab
hook tokens from `readiness gitlab connect`) is stored Fernet-encrypted (AES-128-CBC + HMAC,
authenticated) under READINESS_ENCRYPTION_KEY.

The setting holds one key or several, comma-separated: the first encrypts, all of them decrypt
(MultiFernet), which is what lets `readiness rotate-key` re-encrypt while replicas still run on
the old key. Settings from the environment always win over stored values (`apply_stored`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.config import Settings, SettingsError
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.gitlab.settings import GitLabSettings
from bot.store.db import session_scope
from bot.store.models import StoredSecret, utcnow
from bot.store.stored_secrets import any_secret, secret_names

KEY_SETTING = "READINESS_ENCRYPTION_KEY"
GITHUB_APP = "github_app"  # JSON: id, slug, client_id, client_secret, pem, webhook_secret, html_url, api_url
GITLAB_WEBHOOK_TOKEN = "gitlab_webhook_secret"  # noqa: S105  # nosec B105 - a row name, not a secret
GITLAB_SIGNING_TOKEN = "gitlab_signing_secret"  # noqa: S105  # nosec B105 - a row name, not a secret


def generate_key() -> str:
    """A new random key, in the form READINESS_ENCRYPTION_KEY expects."""
    return Fernet.generate_key().decode()


def parse_keys(value: str, setting: str = KEY_SETTING) -> list[Fernet]:
    """One key or several (comma-separated, the newest first); SettingsError names the setting."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise SettingsError(f"{setting}: empty; generate a key with `readiness keygen`")
    try:
        return [Fernet(k) for k in keys]
    except (ValueError, TypeError):
        raise SettingsError(
            f"{setting}: not a Fernet key (32 url-safe base64-encoded bytes); "
            "generate one with `readiness keygen`"
        ) from None


class SecretStore:
    """Encrypted name → value rows in `stored_secrets`; every call is its own short transaction."""

    def __init__(self, engine: Engine, keys: list[Fernet]) -> None:
        self.engine, self.keys = engine, keys
        self.fernet = MultiFernet(keys)

    def put(self, name: str, value: str, *, only_if_absent: bool = False) -> bool:
        """Store `value`; with `only_if_absent`, False (and nothing written) if `name` exists."""
        token = self.fernet.encrypt(value.encode()).decode()
        with session_scope(self.engine) as session:
            row = session.get(StoredSecret, name)
            if row is not None and only_if_absent:
                return False
            if row is None:
                session.add(StoredSecret(name=name, ciphertext=token))
            else:
                row.ciphertext, row.updated_at = token, utcnow()
                session.add(row)
        return True

    def get(self, name: str) -> str | None:
        with session_scope(self.engine, immediate=False) as session:
            row = session.get(StoredSecret, name)
        return None if row is None else self.fernet.decrypt(row.ciphertext.encode()).decode()

    def get_json(self, name: str) -> dict[str, Any] | None:
        value = self.get(name)
        return None if value is None else json.loads(value)

    def delete(self, name: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(StoredSecret, name)
            if row is not None:
                session.delete(row)

    def names(self) -> list[str]:
        with session_scope(self.engine, immediate=False) as session:
            return secret_names(session)

    def check(self) -> None:
        """SettingsError unless every stored secret decrypts under the configured key(s)."""
        for name in self.names():
            try:
                self.get(name)
            except InvalidToken:
                raise SettingsError(
                    f"{KEY_SETTING}: does not decrypt the stored secret {name!r} (wrong key?)"
                ) from None

    def rotate(self, new: list[Fernet]) -> int:
        """Re-encrypt every row under `new` (its first key); rows are done one per transaction,
        so readers holding either key keep working throughout. Returns how many were rotated."""
        keys = [*new, *self.keys]
        both, target = MultiFernet(keys), MultiFernet(new)
        done = 0
        for name in self.names():
            with session_scope(self.engine) as session:
                row = session.get(StoredSecret, name)
                if row is None:
                    continue
                plain = both.decrypt(row.ciphertext.encode())
                row.ciphertext, row.updated_at = target.encrypt(plain).decode(), utcnow()
                session.add(row)
            done += 1
        self.keys, self.fernet = keys, both
        return done


def _has_rows(engine: Engine) -> bool:
    with session_scope(engine, immediate=False) as session:
        return any_secret(session)


def open_store(settings: Settings, engine: Engine) -> SecretStore | None:
    """The store under the configured key, checked against every stored secret; None when no
    key is set and nothing is stored. A missing or wrong key for stored secrets: SettingsError."""
    key = settings.encryption_key
    if key is None:
        if _has_rows(engine):
            raise SettingsError(f"{KEY_SETTING}: not set, but the database holds encrypted secrets")
        return None
    store = SecretStore(engine, parse_keys(key.get_secret_value()))
    store.check()
    return store


@dataclass(frozen=True)
class GitHubApp:
    """What POST /app-manifests/{code}/conversions returned and the bot keeps."""

    id: int
    slug: str
    client_id: str
    client_secret: str
    pem: str
    webhook_secret: str | None
    html_url: str
    api_url: str

    @classmethod
    def from_conversion(cls, data: dict[str, Any], api_url: str) -> GitHubApp:
        return cls(
            id=int(data["id"]),
            slug=str(data["slug"]),
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
            pem=str(data["pem"]),
            webhook_secret=data.get("webhook_secret"),
            html_url=str(data["html_url"]),
            api_url=api_url,
        )

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def stored_app(store: SecretStore | None) -> GitHubApp | None:
    data = store.get_json(GITHUB_APP) if store is not None else None
    return GitHubApp(**data) if data else None


def stored_gitlab_secrets(settings: Settings, store: SecretStore) -> dict[str, str]:
    """The GitLab hook secrets `readiness gitlab connect` stored, for those the environment
    leaves unset (setting name -> plain value). Two primary-key reads: cheap enough to repeat
    when a running bot meets a hook it does not know yet."""
    found: dict[str, str] = {}
    own = settings.platform(GitLabSettings)
    for name in (GITLAB_WEBHOOK_TOKEN, GITLAB_SIGNING_TOKEN):
        if getattr(own, name) is None:
            value = store.get(name)
            if value is not None:
                found[name] = value
    return found


def apply_stored(settings: Settings, store: SecretStore | None) -> Settings:
    """`settings` with unset fields filled from the store (the environment always wins)."""
    if store is None:
        return settings
    update: dict[str, Any] = {}
    app = stored_app(store)
    github = settings.platform(GitHubSettings)
    if app is not None and github.github_app_id is None and github.github_private_key is None:
        update["github_app_id"], update["github_private_key"] = app.id, app.pem
        if "github_api_url" not in github.model_fields_set:
            update["github_api_url"] = app.api_url
        if github.github_bot_login is None:
            update["github_bot_login"] = f"{app.slug}[bot]"
    if app is not None and app.webhook_secret and github.github_webhook_secret is None:
        update["github_webhook_secret"] = app.webhook_secret
    update |= stored_gitlab_secrets(settings, store)
    if not update:
        return settings
    secret = ("github_private_key", "github_webhook_secret", GITLAB_WEBHOOK_TOKEN, GITLAB_SIGNING_TOKEN)
    return settings.model_copy(update={k: SecretStr(v) if k in secret else v for k, v in update.items()})
