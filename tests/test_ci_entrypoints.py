"""The CI entry points for `readiness check`: the GitHub Action, the GitLab template, pre-commit.

There is no GitHub or GitLab runner here, so the Action's and the template's own shell lines run
under bash with the variables their runners would set; every flag they pass must be a real flag of
`readiness check`. The pre-commit hook runs end to end with `pre-commit try-repo`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import typer
import yaml

from bot.cli import _register, app

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
_register()
CLI = typer.main.get_command(app)


def check_flags() -> set[str]:
    return {opt for p in CLI.commands["check"].params for opt in p.opts if opt.startswith("-")}


def flags_in(script: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", script))


def small_repo(root: Path, *, config: str = "extends: false\nchecklists: [production-readiness]\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / ".readiness.yml").write_text(config)
    return root


def bash(script: str, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"  # `readiness` and `python` from this suite
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": path, "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ------------------------------------------------------------------------------------ GitHub Action

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_is_a_composite_with_the_documented_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"path", "format", "fail-under", "output", "config", "package"} <= set(ACTION["inputs"])
    used = set(re.findall(r"inputs\.([a-z-]+)", (ROOT / "action.yml").read_text()))
    assert used <= set(ACTION["inputs"]), f"unknown inputs used: {used - set(ACTION['inputs'])}"
    assert ACTION["inputs"]["format"]["default"] in {"text", "json", "markdown", "sarif"}
    install = next(s for s in ACTION["runs"]["steps"] if "pip install" in s.get("run", ""))
    assert "github.action_path" in install["env"]["PACKAGE"]  # the action's own ref, not the newest


def _action_step() -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == "check")


def test_action_passes_only_real_flags() -> None:
    assert flags_in(_action_step()["run"]) <= check_flags()


def _run_action(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    step = _action_step()
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs
    env = {
        key: re.sub(r"\$\{\{ inputs\.([a-z-]+) \}\}", lambda m: values[m.group(1)], value)
        for key, value in step["env"].items()
    }
    outputs = tmp_path / "github_output"
    env["GITHUB_OUTPUT"] = str(outputs)
    return bash(step["run"], cwd=tmp_path, env=env), outputs


def test_action_writes_sarif_and_gates_on_fail_under(tmp_path: Path) -> None:
    small_repo(tmp_path / "repo")
    done, outputs = _run_action(tmp_path, path="repo")
    assert done.returncode == 0, done.stderr
    sarif = json.loads((tmp_path / "readiness.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert "report=readiness.sarif" in outputs.read_text()

    gated, _ = _run_action(tmp_path, path="repo", **{"fail-under": "100"})
    assert gated.returncode == 1 and "below --fail-under" in gated.stderr


def test_action_still_writes_sarif_on_a_configuration_error(tmp_path: Path) -> None:
    small_repo(tmp_path / "repo", config="checklists: [nope]\n")
    done, outputs = _run_action(tmp_path, path="repo")
    assert done.returncode == 2
    sarif = json.loads((tmp_path / "readiness.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["level"] == "error"
    assert "report=readiness.sarif" in outputs.read_text()  # the upload step can still find it


# ---------------------------------------------------------------------------------- GitLab template

GITLAB = yaml.safe_load((ROOT / "ci" / "readiness.gitlab-ci.yml").read_text())


def test_gitlab_template_defines_a_job_and_its_artifacts() -> None:
    job = GITLAB[".readiness"]
    assert GITLAB["readiness"]["extends"] == ".readiness"
    assert {"readiness.json", "readiness.sarif"} <= set(job["artifacts"]["paths"])
    assert job["artifacts"]["when"] == "always"
    assert flags_in("\n".join(job["script"])) <= check_flags()


@pytest.mark.parametrize(("fail_under", "code"), [("", 0), ("100", 1)])
def test_gitlab_script_runs_as_the_runner_would(tmp_path: Path, fail_under: str, code: int) -> None:
    small_repo(tmp_path)
    variables = {k: str(v) for k, v in GITLAB["variables"].items()} | {"READINESS_FAIL_UNDER": fail_under}
    done = bash("\n".join(GITLAB[".readiness"]["script"]), cwd=tmp_path, env=variables)
    assert done.returncode == code, done.stderr
    assert "# Readiness report" in done.stdout  # the Markdown report in the job log
    assert json.loads((tmp_path / "readiness.json").read_text())["schema"] == "readiness-report/v1"
    assert json.loads((tmp_path / "readiness.sarif").read_text())["version"] == "2.1.0"


# ---------------------------------------------------------------------------------------- pre-commit

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def test_pre_commit_hooks_run_real_commands() -> None:
    by_id = {h["id"]: h for h in HOOKS}
    assert set(by_id) == {"readiness-check", "readiness-validate"}
    for hook in HOOKS:
        program, command, *rest = hook["entry"].split()
        assert program == "readiness" and command in CLI.commands and not rest
        assert hook["language"] == "python" and hook["pass_filenames"] is False


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_try_repo_runs_the_hook(tmp_path: Path) -> None:
    """pre-commit installs this repository into its own virtualenv (pip, from the local path) and
    runs the hook in a fresh git repository. The hook's dependencies come from this suite's
    environment (PYTHONPATH) so pip needs no index for them; the package itself is built and
    installed by pip as pre-commit does it."""
    source = tmp_path / "readiness-bot"  # this working tree as a repository of its own, committed
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for rel in filter(None, listed.stdout.split("\0")):
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, source / rel)
    _git(source, "init", "-q")
    _git(source, "add", "-A")
    _git(source, "commit", "-qm", "snapshot")
    project = small_repo(tmp_path / "project")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "init")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("READINESS_", "PRE_COMMIT"))},
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }

    def try_repo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pre-commit"), "try-repo", str(source), *args, "--all-files", "--verbose"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    passed = try_repo("readiness-check")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Production readiness" in passed.stdout and "Overall:" in passed.stdout

    (project / ".readiness.yml").write_text("checklists: [prod-readiness]\n")
    failed = try_repo("readiness-validate")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "unknown checklist 'prod-readiness'" in failed.stdout
