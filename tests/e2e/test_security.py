"""Security suite (issue 12): bandit finds nothing unjustified in `bot/`, and a representative
end-to-end run (signed webhooks in, a real sync against the stateful GitHub fake, forged,
oversized and odd deliveries, a failing job) logs none of the configured secrets, the tokens
the bot obtained, or the signatures it was sent."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from platforms.fake_github import FakeGitHub

from bot.config import Settings
from bot.logging import configure_logging
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.github.verify import github_signature
from e2e.conftest import Bot, new_delivery
from e2e.test_github_e2e import (  # the GitHub e2e fixtures, reused as they are
    HEAD1,
    HEAD2,
    SECRET,
    bot,
    fake,
    installation_payload,
    push_payload,
    settings,
)

__all__ = ["bot", "fake", "settings"]  # fixtures, used by name
ROOT = Path(__file__).resolve().parents[2]


def test_bandit_finds_nothing_in_the_bot() -> None:
    """Each accepted exception is justified in place (`# nosec <id>` with the reason beside it)."""
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-c", "pyproject.toml", "-r", "bot", "-f", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(done.stdout)
    assert report["results"] == [], [
        (r["filename"], r["line_number"], r["test_id"]) for r in report["results"]
    ]
    assert report["errors"] == []


@pytest.fixture
def logs(settings: Settings) -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging(settings.model_copy(update={"log_level": "DEBUG"}), stream=out)
    try:
        yield out
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()


async def test_a_representative_run_logs_no_secret_token_or_signature(
    logs: io.StringIO, bot: Bot, fake: FakeGitHub, settings: Settings
) -> None:
    sent: list[str] = []

    async def post(event: str, body: bytes, signature: str | None = None) -> int:
        sig = signature or github_signature(SECRET, body)
        sent.append(sig)
        headers = {"x-github-event": event, "x-github-delivery": new_delivery(), "x-hub-signature-256": sig}
        return (await bot.post("/webhooks/github", body, headers)).status_code

    assert await post("installation", json.dumps(installation_payload()).encode()) == 202
    assert await post("push", json.dumps(push_payload(HEAD1)).encode()) == 202
    await bot.drain()
    body = json.dumps(push_payload(HEAD2, HEAD1)).encode()
    assert await post("push", body, github_signature(SECRET + "x", body)) == 401  # forged
    assert await post("push", body, "sha256=" + "0" * 64) == 401
    assert await post("push", b"x" * (settings.max_body_bytes + 1)) == 413
    assert (
        await post("push", json.dumps({**push_payload(HEAD2), "installation": {"id": 2**64 - 1}}).encode())
        == 200
    )
    assert await post("push", b"{not json") == 400
    assert await post("push", body) == 202
    await bot.drain()

    text = logs.getvalue()
    assert text, "nothing was logged: the scan would prove nothing"
    private_key = settings.platform(GitHubSettings).github_private_key
    assert private_key is not None
    key_lines = [line for line in private_key.get_secret_value().splitlines() if line and "-----" not in line]
    secrets = [SECRET, *key_lines, *fake.tokens, *sent, *(s.removeprefix("sha256=") for s in sent)]
    assert fake.tokens, "the run never obtained an installation token"
    for secret in secrets:
        assert secret not in text, f"{secret[:10]}… leaked into the logs"
    assert "eyJ" not in text  # no JSON web token (the app's RS256 JWT) in any form
