"""`--format sarif` still writes valid SARIF when the run fails, and `validate` without a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from bot import __version__
from bot.cli import _register, app

_register()
runner = CliRunner()

# What code-scanning uploads require of SARIF 2.1.0 (a subset of the OASIS schema, which is not
# vendored here): a version, runs with a named driver, results with a message, a known level and
# well-formed locations.
SARIF_ESSENTIALS = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                            }
                        },
                    },
                    "invocations": {
                        "type": "array",
                        "items": {"required": ["executionSuccessful"]},
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string", "minLength": 1}},
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {
                                                            "uri": {"type": "string", "minLength": 1}
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def sarif_of(*args: str) -> tuple[int, dict, str]:
    result = runner.invoke(app, ["check", *args, "--format", "sarif"])
    data = json.loads(result.stdout)
    Draft202012Validator(SARIF_ESSENTIALS).validate(data)
    return result.exit_code, data, result.stderr


def test_a_configuration_error_is_a_sarif_error_result_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".readiness.yml").write_text("extends: false\nchecklists:\n  - prod-readiness\n")
    code, sarif, stderr = sarif_of(str(tmp_path))
    assert code == 2
    assert "unknown checklist 'prod-readiness'" in stderr  # the one line on stderr is still there
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["version"] == __version__
    assert run["invocations"][0]["executionSuccessful"] is False
    [result] = run["results"]
    assert result["level"] == "error"
    assert "unknown checklist 'prod-readiness'" in result["message"]["text"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == ".readiness.yml"
    assert location["region"]["startLine"] == 3


@pytest.mark.parametrize("case", ["missing config", "missing ci results", "not a directory"])
def test_input_errors_are_sarif_too(tmp_path: Path, case: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    args = {
        "missing config": [str(tmp_path), "--config", str(tmp_path / "nope.yml")],
        "missing ci results": [str(tmp_path), "--ci-results", str(tmp_path / "ci.json")],
        "not a directory": [str(tmp_path / "file.txt")],
    }[case]
    code, sarif, _ = sarif_of(*args)
    assert code == 2
    assert sarif["runs"][0]["results"][0]["level"] == "error"


def test_a_successful_run_is_valid_sarif(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    code, sarif, _ = sarif_of(str(tmp_path))
    assert code == 0 and sarif["runs"][0]["results"]


def test_validate_without_a_file_or_config_validates_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0
    assert "production-readiness" in result.stdout and "defaults" in result.stdout


def test_validate_without_a_file_uses_the_config_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".readiness.yml").write_text("checklists: [prod-readiness]\n")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "unknown checklist 'prod-readiness'" in result.stderr
