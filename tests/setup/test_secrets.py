"""Secrets at rest: keygen, a missing or wrong key at start-up, rotation while the bot serves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import _register
from bot.cli import app as cli
from bot.config import SettingsError, load_settings
from bot.platforms.github.verify import github_signature
from bot.secrets import GITHUB_APP, GitHubApp, SecretStore, open_store, parse_keys

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
HOOK_SECRET = "stored-webhook-secret-0123"
APP = GitHubApp(
    1,
    "rb",
    "Iv1.x",
    "cs",
    "-----BEGIN RSA PRIVATE KEY-----\n",
    HOOK_SECRET,
    "https://github.com/apps/rb",
    "https://api.github.com",
)


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()


def seed(engine: Engine, key: str, extra: int = 0) -> SecretStore:
    store = SecretStore(engine, parse_keys(key))
    store.put(GITHUB_APP, APP.to_json())
    for i in range(extra):
        store.put(f"gitlab_hook_token:{i}", f"token-{i}")
    return store


def test_keygen_prints_a_usable_key() -> None:
    result = CliRunner().invoke(cli, ["keygen"])
    assert result.exit_code == 0
    parse_keys(result.output.strip())  # no SettingsError


def test_a_malformed_key_is_one_line_naming_the_setting(db_url: str) -> None:
    with pytest.raises(SettingsError, match=r"^READINESS_ENCRYPTION_KEY: "):
        create_app(load_settings(database_url=db_url, encryption_key="short"), start_worker=False)


def test_missing_or_wrong_key_for_stored_secrets_stops_start_up(db_url: str, engine: Engine) -> None:
    seed(engine, OLD)
    with pytest.raises(SettingsError, match=r"^READINESS_ENCRYPTION_KEY: not set"):
        open_store(load_settings(database_url=db_url), engine)
    with pytest.raises(SettingsError, match=r"^READINESS_ENCRYPTION_KEY: does not decrypt"):
        open_store(load_settings(database_url=db_url, encryption_key=NEW), engine)


def test_serve_refuses_to_start_with_a_wrong_key(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine, OLD)
    monkeypatch.setenv("READINESS_DATABASE_URL", db_url)
    monkeypatch.setenv("READINESS_ENCRYPTION_KEY", NEW)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "readiness: READINESS_ENCRYPTION_KEY: does not decrypt the stored secret 'github_app' (wrong key?)"
    ]


def test_environment_settings_win_over_stored_ones(db_url: str, engine: Engine) -> None:
    from bot.platforms.github.settings import GitHubSettings
    from bot.secrets import apply_stored

    store = seed(engine, OLD)
    env = load_settings(database_url=db_url, encryption_key=OLD, github_webhook_secret="from-the-environment")
    effective = apply_stored(env, store).platform(GitHubSettings)
    assert effective.github_webhook_secret is not None
    assert effective.github_webhook_secret.get_secret_value() == "from-the-environment"
    assert effective.github_app_id == 1


async def test_rotation_while_the_bot_serves(db_url: str, engine: Engine, tmp_path: Path) -> None:
    seed(engine, OLD, extra=40)
    settings = load_settings(database_url=db_url, encryption_key=OLD)
    app = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    new_file = tmp_path / "new.key"
    new_file.write_text(NEW + "\n")
    body = json.dumps({"zen": "keep going", "hook_id": 7}).encode()

    def rotate() -> object:
        env = {"READINESS_DATABASE_URL": db_url, "READINESS_ENCRYPTION_KEY": OLD}
        return CliRunner().invoke(cli, ["rotate-key", "--new-key-file", str(new_file)], env=env)

    statuses: list[int] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        job = asyncio.create_task(asyncio.to_thread(rotate))
        n = 0
        while not job.done() or n < 3:
            n += 1
            headers = {
                "x-github-event": "ping",
                "x-github-delivery": f"rot-{n}",
                "x-hub-signature-256": github_signature(HOOK_SECRET, body),
            }
            statuses.append((await http.post("/webhooks/github", content=body, headers=headers)).status_code)
            assert (await http.get("/healthz")).status_code == 200
            await asyncio.sleep(0)  # an in-process request may never suspend: let the loop see the thread end
        result = await job
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "re-encrypted 41" in result.output  # type: ignore[attr-defined]
    assert statuses and set(statuses) <= {200, 202}
    # the new key alone now decrypts everything; the old one alone no longer does
    assert open_store(load_settings(database_url=db_url, encryption_key=NEW), engine) is not None
    with pytest.raises(SettingsError):
        open_store(load_settings(database_url=db_url, encryption_key=OLD), engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stored_secrets")).scalar() == 41


def test_rotate_key_with_a_bad_new_key_file_changes_nothing(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    seed(engine, OLD)
    bad = tmp_path / "bad.key"
    bad.write_text("nope")
    env = {"READINESS_DATABASE_URL": db_url, "READINESS_ENCRYPTION_KEY": OLD}
    result = CliRunner().invoke(cli, ["rotate-key", "--new-key-file", str(bad)], env=env)
    assert result.exit_code == 2 and f"--new-key-file {bad}: not a Fernet key" in result.output
    missing = CliRunner().invoke(cli, ["rotate-key", "--new-key-file", str(tmp_path / "none")], env=env)
    assert missing.exit_code == 2 and "cannot read the file" in missing.output
    assert open_store(load_settings(database_url=db_url, encryption_key=OLD), engine) is not None


def test_app_manifest_prints_the_manifest_with_the_url() -> None:
    result = CliRunner().invoke(cli, ["app-manifest", "--url", "https://bot.example.com/", "--org", "acme"])
    assert result.exit_code == 0
    manifest = json.loads(result.stdout)
    assert manifest["hook_attributes"]["url"] == "https://bot.example.com/webhooks/github"
    assert manifest["redirect_url"] == "https://bot.example.com/github/manifest/callback"
    assert "organizations/acme/settings/apps/new" in result.stderr
    bad = CliRunner().invoke(cli, ["app-manifest", "--url", "ftp://x"])
    assert bad.exit_code == 2 and "--url" in bad.output
