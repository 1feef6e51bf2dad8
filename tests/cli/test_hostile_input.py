"""Hostile repositories against `readiness check` / `validate` (issue 12, findings 4 and 8): every
case ends in one clear error line and exit 2 (or a clean report), never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import _register, app
from bot.core.yamlload import MAX_FILE_BYTES

EXIT_USAGE = 2
TEAM = (Path(__file__).resolve().parent / "fixtures" / "team.yml").read_text()
CONFIG = "extends: false\nchecklists:\n  - path: .readiness/team.yml\n"

_register()
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            ".readiness.yml": CONFIG,
            ".readiness/team.yml": TEAM,
            "Dockerfile": "FROM x\n",
            "app/main.py": "x\n",
        },
    )


def one_error(result) -> str:
    assert result.exit_code == EXIT_USAGE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_symlink_loop_as_custom_template(repo: Path) -> None:
    (repo / ".readiness/team.yml").unlink()
    os.symlink("team.yml", repo / ".readiness/team.yml")  # points at itself
    for args in (["check", str(repo)], ["validate", str(repo / ".readiness.yml")]):
        assert ".readiness/team.yml" in one_error(run(*args))


def test_symlink_loop_as_config_file(repo: Path) -> None:
    os.symlink("loop.yml", repo / "loop.yml")
    assert "loop.yml" in one_error(run("check", str(repo), "--config", str(repo / "loop.yml")))
    assert "loop.yml" in one_error(run("validate", str(repo / "loop.yml")))


def test_symlink_loop_as_a_file_a_rule_reads(repo: Path) -> None:
    os.symlink("main2.py", repo / "app/main2.py")
    result = run("check", str(repo), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checklists"]


@pytest.mark.parametrize("text", ["~: 1\n", "checklists:\n  - {id: x, ~: 1}\n"])
def test_null_mapping_keys_in_config(repo: Path, text: str) -> None:
    (repo / ".readiness.yml").write_text(text)
    assert "null" in one_error(run("validate", str(repo / ".readiness.yml")))
    assert "null" in one_error(run("check", str(repo)))


def test_null_mapping_key_in_template(repo: Path) -> None:
    (repo / ".readiness/team.yml").write_text(
        TEAM.replace("      - id: dockerfile\n", "      - ~: 1\n        id: dockerfile\n")
    )
    assert "team.yml" in one_error(run("validate", str(repo / ".readiness/team.yml"), "--template"))
    assert "team.yml" in one_error(run("check", str(repo)))


def test_deeply_nested_ci_results(repo: Path) -> None:
    (repo / "ci.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "ci.json" in one_error(run("check", str(repo), "--ci-results", str(repo / "ci.json")))


def test_oversized_ci_results(repo: Path) -> None:
    (repo / "ci.json").write_text("[" + " " * MAX_FILE_BYTES + "]")
    assert "limit" in one_error(run("check", str(repo), "--ci-results", str(repo / "ci.json")))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_validate_dev_zero_reads_only_up_to_the_limit() -> None:
    assert "limit is 1048576 bytes" in one_error(run("validate", "/dev/zero"))


def test_huge_sparse_file_is_refused_without_being_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as fh:
        fh.truncate(2 * 1024**3)  # 2 GiB, sparse: reading it whole would take seconds and 2 GiB
    assert "limit is 1048576 bytes" in one_error(run("validate", str(big)))


def _template_of(size: int) -> str:
    """The team template padded with items to about `size` bytes."""
    pad = f"      - id: pad-{{n}}\n        title: Padding item {{n}} {'x' * 400}\n        why: Padding {'y' * 3000}\n        manual: true\n"
    count = (size - len(TEAM)) // len(pad.format(n=10_000))
    items = "".join(pad.format(n=n) for n in range(count))
    return TEAM.replace("    items:\n", "    items:\n" + items, 1)


def test_too_big_template_is_refused_by_check_and_validate_alike(repo: Path) -> None:
    """`check` evaluated the first 1 MiB of a 1.5 MB template that `validate` refused."""
    (repo / ".readiness/team.yml").write_text(_template_of(1_500_000))
    assert "limit is 1048576 bytes" in one_error(run("validate", str(repo / ".readiness/team.yml")))
    assert "limit is 1048576 bytes" in one_error(run("check", str(repo)))
    assert "limit is 1048576 bytes" in one_error(run("validate", str(repo / ".readiness.yml")))


def test_template_just_under_the_limit_is_read_whole(repo: Path) -> None:
    text = _template_of(MAX_FILE_BYTES - 1000)
    assert 1_000_000 < len(text.encode()) <= MAX_FILE_BYTES
    (repo / ".readiness/team.yml").write_text(text)
    result = run("check", str(repo), "--format", "json")
    assert result.exit_code == 0, result.stderr
    items = [i for c in json.loads(result.stdout)["checklists"] for s in c["sections"] for i in s["items"]]
    assert len(items) == text.count("      - id: ")


def test_control_characters_in_file_names_are_escaped_in_text_output(repo: Path) -> None:
    (repo / "Dockerfile").unlink()
    (repo / ".readiness/team.yml").write_text(TEAM.replace("files: [Dockerfile]", 'files: ["Dockerfile*"]'))
    (repo / "Dockerfile\x1b]0;owned\x07\x1b[2J\x9b31m\nfake line").write_text("FROM x\n")
    result = run("check", str(repo))
    assert result.exit_code == 0, result.stderr
    assert "Dockerfile\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\nfake line" in result.stdout
    assert not any(c in result.stdout for c in "\x1b\x07\x9b")
