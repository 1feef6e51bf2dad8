"""One version, shown everywhere a user or an operator looks: the CLI, /metrics, SARIF, the metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot import __version__
from bot.app import create_app
from bot.cli import _register, app
from bot.config import load_settings

_register()
ROOT = Path(__file__).resolve().parents[1]


def test_version_is_a_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:[ab]\d+|rc\d+|\.dev\d+)?", __version__)


def test_readiness_version_prints_it_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"readiness {__version__}"


def test_sarif_driver_carries_the_version(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--format", "sarif"])
    assert result.exit_code == 0
    driver = json.loads(result.stdout)["runs"][0]["tool"]["driver"]
    assert driver["version"] == __version__


async def test_metrics_expose_build_info(db_url: str, engine: Engine) -> None:
    settings = load_settings(database_url=db_url, github_webhook_secret="s" * 20)
    bot = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    async with (
        bot.router.lifespan_context(bot),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=bot), base_url="http://bot") as http,
    ):
        text = (await http.get("/metrics")).text
    line = next(line for line in text.splitlines() if line.startswith("readiness_build_info{"))
    assert f'version="{__version__}"' in line and line.endswith(" 1.0")


def test_license_is_the_declared_one() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a pointer to it
