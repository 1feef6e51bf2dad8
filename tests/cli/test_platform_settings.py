"""Every command that loads settings reads every platform's too, even when it is the only module
imported (`readiness worker` imports just its own): a bad READINESS_GITHUB_* or READINESS_GITLAB_*
value stops it with the usual one line, and the platforms' secrets are known to the log redactor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "bot" / "cli"
LOADERS = sorted(p.stem for p in CLI.glob("*.py") if "load_settings(" in p.read_text())

PROBE = """
import bot.cli.{module}
from bot.config import SettingsError, load_settings
from bot.logging import configured_secrets
settings = load_settings(database_url="sqlite://")
print("redacted" if "gitlab-token-0123456789" in configured_secrets(settings) else "LEAKED")
import os
os.environ["READINESS_GITHUB_APP_ID"] = "twelve"
try:
    load_settings(database_url="sqlite://")
except SettingsError as exc:
    print(exc)
"""


def test_the_commands_that_load_settings_are_the_ones_checked() -> None:
    assert {"server", "deliveries", "sync", "summary"} <= set(LOADERS)


@pytest.mark.parametrize("module", LOADERS)
def test_a_command_alone_reads_every_platforms_settings(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("READINESS_")}
    env["READINESS_GITLAB_TOKEN"] = "gitlab-token-0123456789"
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert out[0] == "redacted"
    assert out[1].startswith("READINESS_GITHUB_APP_ID: ")
