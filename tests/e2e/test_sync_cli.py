"""`readiness sync --dry-run`: reads the real repository, prints the writes, makes none."""

from __future__ import annotations

import pytest
import respx
from platforms.contract import SPEC
from platforms.fake_github import INSTALLATION_ID, FakeGitHub
from typer.testing import CliRunner

import bot.cli


@pytest.fixture
def fake(cli_github: FakeGitHub) -> FakeGitHub:
    return cli_github


def test_dry_run_prints_the_planned_issues_and_writes_nothing(fake: FakeGitHub) -> None:
    bot.cli._register()
    with respx.mock(base_url=fake.host, assert_all_called=False) as router:
        router.route().mock(side_effect=fake)
        result = CliRunner().invoke(
            bot.cli.app, ["sync", SPEC.full_name, "--installation", str(INSTALLATION_ID), "--dry-run"]
        )
    assert result.exit_code == 0, result.output
    assert "would create issue" in result.output
    assert "Production readiness: octo-org/widgets" in result.output
    assert "none made" in result.output
    assert [m for m, p, _ in fake.log if m in ("POST", "PATCH", "DELETE") and "access_tokens" not in p] == []
    assert len(fake.issues) == 2  # the seeded issue and the fake's pull request only


def test_sync_without_platform_credentials_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "READINESS_GITHUB_APP_ID",
        "READINESS_GITHUB_PRIVATE_KEY",
        "READINESS_GITHUB_PRIVATE_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    bot.cli._register()
    result = CliRunner().invoke(bot.cli.app, ["sync", "octo-org/widgets", "--dry-run"])
    assert result.exit_code == 2
    assert "READINESS_GITHUB_APP_ID" in result.output
