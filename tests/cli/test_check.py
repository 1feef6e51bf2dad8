"""`readiness check / validate / templates / schema` as a user runs them: outputs and exit codes.

The checked repositories use a small custom template (tests/cli/fixtures/team.yml) so these tests
do not depend on the shipped checklists' content.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from bot.cli import _register, app

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEAM = (FIXTURES / "team.yml").read_text()
CONFIG = "extends: false\nchecklists:\n  - path: .readiness/team.yml\n"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

_register()
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A plain directory: Dockerfile and a health endpoint, no CI, no runbooks, no load tests."""
    return write(
        tmp_path,
        {
            ".readiness.yml": CONFIG,
            ".readiness/team.yml": TEAM,
            "Dockerfile": "FROM python:3.12\n",
            "app/main.py": 'app.get("/healthz")\n',
        },
    )


# ------------------------------------------------------------------------------------------ check


def test_text_report_shows_progress_marks_and_evidence(repo: Path) -> None:
    result = run("check", str(repo))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Team checklist  [team]" in out
    assert "2/6  33%" in out  # dockerfile + health endpoint of 6 items
    assert "Build and ship" in out and "1/3  33%" in out
    assert "✓ Container image is built from a Dockerfile — found `Dockerfile`" in out
    assert '✓ Health endpoint — `app/main.py:1` matches `"/healthz"`' in out
    assert "✗ CI runs on every push" in out
    assert "✗ On-call rota agreed (manual)" in out
    assert "█" in out
    assert "Overall: 2 of 6 applicable items done (33%)" in out
    assert "not a git work tree" in out
    assert "`extends: organization` is ignored" not in out  # extends: false


def test_skips_and_extra_evidence_from_the_config(repo: Path) -> None:
    write(
        repo,
        {
            ".readiness.yml": CONFIG
            + "items:\n"
            + "  team/load-testing: {skip: 'Batch job with no user traffic'}\n"
            + "  runbooks: {evidence: {files: ['ops/playbooks/']}}\n",
            "ops/playbooks/db.md": "# When the database is down\n",
        },
    )
    data = json.loads(run("check", str(repo), "--format", "json").stdout)
    items = {i["id"]: i for s in data["checklists"][0]["sections"] for i in s["items"]}
    assert items["load-testing"]["status"] == "skipped"
    assert items["load-testing"]["reason"] == "Batch job with no user traffic"
    assert items["runbooks"]["status"] == "auto"
    assert items["runbooks"]["evidence"] == "found `ops/playbooks/` (1 file)"
    assert data["summary"] == {"done": 3, "open": 2, "skipped": 1, "total": 6, "percent": 60.0}


def test_json_report_shape(repo: Path) -> None:
    result = run("check", str(repo), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == "readiness-report/v1"
    assert data["config"] == ".readiness.yml"
    assert data["files"] == 4
    assert data["summary"] == {"done": 2, "open": 4, "skipped": 0, "total": 6, "percent": 33.3}
    [checklist] = data["checklists"]
    assert (checklist["id"], checklist["source"]) == ("team", ".readiness/team.yml")
    assert [s["id"] for s in checklist["sections"]] == ["build", "operations"]
    ci = checklist["sections"][0]["items"][1]
    assert ci == {
        "id": "ci-config",
        "title": "CI runs on every push",
        "status": "open",
        "manual": False,
        "evidence": None,
        "reason": None,
        "missing": "no file matches `.github/workflows/*.yml` or `.gitlab-ci.yml`",
        "applicable": True,
    }
    assert any("looked at 4 files" in n for n in data["notes"])


def test_markdown_report(repo: Path) -> None:
    out = run("check", str(repo), "--format", "markdown").stdout
    assert out.startswith("# Readiness report\n")
    assert "| Team checklist (`team`) | 2 | 4 | 0 | 33% |" in out
    assert "### Build and ship — 1/3  33%" in out
    assert "- [x] Container image is built from a Dockerfile — found `Dockerfile`" in out
    assert "- [ ] On-call rota agreed _(manual)_" in out


def test_sarif_report_lists_open_automatic_items(repo: Path) -> None:
    sarif = json.loads(run("check", str(repo), "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    run_ = sarif["runs"][0]
    assert run_["tool"]["driver"]["name"] == "readiness"
    rules = run_["tool"]["driver"]["rules"]
    assert "team/on-call" not in {r["id"] for r in rules}  # manual items are not code-scanning findings
    results = run_["results"]
    assert [r["ruleId"] for r in results] == ["team/ci-config", "team/load-testing", "team/runbooks"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] in ("note", "warning")
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ".readiness.yml"
        assert r["message"]["text"]


@pytest.mark.parametrize(("threshold", "code"), [("0", 0), ("33", 0), ("34", 1), ("100", 1)])
def test_fail_under_gates_ci(repo: Path, threshold: str, code: int) -> None:
    result = run("check", str(repo), "--fail-under", threshold)
    assert result.exit_code == code
    if code:
        assert f"readiness 33.3% is below --fail-under {threshold}%" in result.stderr


def test_ci_results_file_satisfies_ci_rules(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    ci = tmp_path_factory.mktemp("ci") / "ci.json"
    ci.write_text(json.dumps([{"name": "nightly-load-test", "conclusion": "success"}]))
    data = json.loads(run("check", str(repo), "--format", "json", "--ci-results", str(ci)).stdout)
    items = {i["id"]: i for s in data["checklists"][0]["sections"] for i in s["items"]}
    assert items["load-testing"]["status"] == "auto"
    assert items["load-testing"]["evidence"] == "job `nightly-load-test` succeeded"
    assert not any("no CI results" in n for n in data["notes"])


def test_config_option_and_checklist_filter(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("cfg") / "alt.yml"
    elsewhere.write_text(CONFIG + "items:\n  dockerfile: {skip: 'Serverless'}\n")
    data = json.loads(run("check", str(repo), "--config", str(elsewhere), "--format", "json").stdout)
    assert data["summary"]["skipped"] == 1

    only = json.loads(run("check", str(repo), "--checklist", "team", "--format", "json").stdout)
    assert [c["id"] for c in only["checklists"]] == ["team"]


def test_default_checklists_are_named_when_there_is_no_config(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, {"README.md": "hi\n"})), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [c["id"] for c in data["checklists"]] == ["production-readiness"]
    assert data["notes"][0].startswith("no .readiness.yml in")
    assert "using the default checklist(s) production-readiness" in data["notes"][0]


def test_extends_organization_is_ignored_locally_with_a_note(repo: Path) -> None:
    write(repo, {".readiness.yml": "checklists:\n  - path: .readiness/team.yml\n"})
    out = run("check", str(repo)).stdout
    assert "`extends: organization` is ignored locally" in out


@needs_git
def test_git_checkout_counts_tracked_files_only(repo: Path) -> None:
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    write(repo, {".github/workflows/ci.yml": "on: push\n"})  # untracked: the bot would not see it

    data = json.loads(run("check", str(repo), "--format", "json").stdout)
    items = {i["id"]: i for s in data["checklists"][0]["sections"] for i in s["items"]}
    assert items["ci-config"]["status"] == "open"
    assert not any("is not tracked by git" in n for n in data["notes"])
    assert data["commit"] and len(data["commit"]) == 40
    assert any("4 tracked files" in n for n in data["notes"])

    git(repo, "add", ".github")
    data = json.loads(run("check", str(repo), "--format", "json").stdout)
    items = {i["id"]: i for s in data["checklists"][0]["sections"] for i in s["items"]}
    assert items["ci-config"]["evidence"] == "found `.github/workflows/ci.yml`"


def test_plain_directory_honours_gitignore(repo: Path) -> None:
    write(repo, {"locustfile.py": "from locust import HttpUser\n", ".gitignore": "locustfile.py\n"})
    items = _items(run("check", str(repo), "--format", "json").stdout)
    assert items["load-testing"]["status"] == "open"

    write(repo, {".gitignore": "*.log\n"})
    items = _items(run("check", str(repo), "--format", "json").stdout)
    assert items["load-testing"]["evidence"] == "found `locustfile.py`"


def _items(out: str) -> dict[str, dict]:
    data = json.loads(out)
    return {i["id"]: i for c in data["checklists"] for s in c["sections"] for i in s["items"]}


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        (
            {".readiness.yml": "checklists:\n  - prod-readiness\n"},
            [],
            "error: .readiness.yml:2:5: checklists[0]: unknown checklist 'prod-readiness'; "
            "shipped checklists: ",
        ),
        (
            {".readiness.yml": "checklists: [a\n"},
            [],
            "error: .readiness.yml:2:1: YAML syntax error: did not find expected ',' or ']'",
        ),
        (
            {".readiness.yml": "checklists:\n  - path: .readiness/missing.yml\n"},
            [],
            "error: .readiness.yml:2:11: checklists[0].path: custom template '.readiness/missing.yml' "
            "not found in the repository",
        ),
        (
            {".readiness.yml": CONFIG + "items:\n  team/load-tsting: {skip: later}\n"},
            [],
            "error: .readiness.yml:5:3: items['team/load-tsting']: checklist 'team' has no item "
            "'load-tsting' (did you mean 'load-testing'?)",
        ),
        (
            {".readiness/team.yml": TEAM.replace("id: runbooks", "id: Runbooks")},
            [],
            "error: .readiness/team.yml:29:13: sections[1].items[0].id: 'Runbooks' is not a valid id",
        ),
        ({}, ["--checklist", "tema"], "error: --checklist: unknown checklist 'tema' (did you mean 'team'?)"),
        ({}, ["--config", "nope.yml"], "error: nope.yml: file not found"),
    ],
)
def test_configuration_errors_exit_2_with_one_line(
    repo: Path, files: dict[str, str], args: list[str], expected: str
) -> None:
    write(repo, files)
    result = run("check", str(repo), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(expected)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(repo: Path) -> None:
    assert run("check", str(repo), "--format", "html").exit_code == 2
    assert run("check", str(repo), "--fail-under", "120").exit_code == 2
    missing = run("check", str(repo / "nope"))
    assert missing.exit_code == 2
    assert "not a directory" in missing.stderr


# --------------------------------------------------------------------------------------- validate


def test_validate_config_and_its_custom_templates(repo: Path) -> None:
    result = run("validate", str(repo / ".readiness.yml"))
    assert result.exit_code == 0
    assert result.stdout.startswith("OK")
    assert "team" in result.stdout and "6 items" in result.stdout

    write(repo, {".readiness.yml": "on_regression: reopn\n"})
    bad = run("validate", str(repo / ".readiness.yml"))
    assert bad.exit_code == 2
    assert bad.stderr.endswith(
        "on_regression: expected 'reopen', 'untick', or 'keep', got 'reopn' (did you mean 'reopen'?)\n"
    )


def test_validate_detects_a_template(repo: Path) -> None:
    ok = run("validate", str(repo / ".readiness/team.yml"))
    assert ok.exit_code == 0
    assert ok.stdout == f"OK: {repo / '.readiness/team.yml'} is a valid template 'team' (6 items)\n"

    item_without_rule = "id: t\ntitle: T\nsections:\n  - id: s\n    title: S\n    items:\n      - id: a\n"
    write(repo, {"t.yml": item_without_rule + "        title: A\n        why: W\n"})
    bad = run("validate", str(repo / "t.yml"))
    assert bad.exit_code == 2
    assert (
        "t.yml:7:9: sections[0].items[0]: an item needs `evidence` (a rule) or `manual: true`" in bad.stderr
    )

    forced = run("validate", "--template", str(repo / ".readiness.yml"))
    assert forced.exit_code == 2
    assert "unknown key 'extends' in a template" in forced.stderr


def test_validate_missing_file(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / ".readiness.yml"))
    assert result.exit_code == 2
    assert result.stderr.endswith(".readiness.yml: file not found\n")


# --------------------------------------------------------------------------------- templates/schema


def test_templates_list_and_show() -> None:
    listing = run("templates")
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["ID", "SECTIONS", "ITEMS", "AUTO", "TITLE"]
    assert any(line.startswith("production-readiness ") for line in lines)

    shown = run("templates", "show", "production-readiness")
    assert shown.exit_code == 0
    assert "[production-readiness]" in shown.stdout.splitlines()[0]
    assert "  auto   " in shown.stdout or "  manual " in shown.stdout

    unknown = run("templates", "show", "prod-readiness")
    assert unknown.exit_code == 2
    assert "unknown template 'prod-readiness' (did you mean 'production-readiness'?)" in unknown.stderr


def test_schema_is_json_with_every_key() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == {
        "extends",
        "checklists",
        "items",
        "ignore",
        "ignore_vendored",
        "scopes",
        "profile",
        "owners",
        "issues",
        "summary",
        "on_regression",
    }
    valid = Draft202012Validator(schema).is_valid
    assert valid({"checklists": [{"id": "production-readiness"}], "summary": {"timezone": "Europe/Berlin"}})
    assert not valid({"checklists": [{"id": "prod-readiness"}]})
    assert not valid({"summary": {"timezone": "Europe/Berln"}})  # the time zones are listed


@pytest.mark.parametrize(
    "command", [[], ["check"], ["validate"], ["templates"], ["templates", "show"], ["schema"]]
)
def test_help_everywhere(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


@needs_git
def test_untracked_custom_template_is_used_with_a_warning(repo: Path) -> None:
    git(repo, "init", "-q")
    git(repo, "add", "Dockerfile", ".readiness.yml")
    result = run("check", str(repo), "--format", "json")
    assert result.exit_code == 0
    notes = json.loads(result.stdout)["notes"]
    assert ".readiness/team.yml is not tracked by git: the bot will not see it until it is committed" in notes


def test_ignored_paths_cannot_tick_items(repo: Path) -> None:
    write(
        repo, {"vendor/lib/Dockerfile": "FROM scratch\n", ".readiness.yml": CONFIG + "ignore: [Dockerfile]\n"}
    )
    data = json.loads(run("check", str(repo), "--format", "json").stdout)
    items = _items(json.dumps(data))
    assert items["dockerfile"]["status"] == "open"
    assert "1 of them not looked at, as `ignore:` asks" in data["notes"]
    assert (
        "1 of them in vendored dependency directories (node_modules/, vendor/, …) not looked at "
        "(`ignore_vendored: false` includes them)" in data["notes"]
    )
    assert data["files"] == 5  # the report still says how many files the checkout has


def test_vendored_dependencies_tick_nothing_unless_included(repo: Path) -> None:
    (repo / "Dockerfile").unlink()
    write(repo, {"vendor/github.com/acme/lib/Dockerfile": "FROM scratch\n"})
    assert _items(run("check", str(repo), "--format", "json").stdout)["dockerfile"]["status"] == "open"
    write(repo, {".readiness.yml": CONFIG + "ignore_vendored: false\n"})
    assert _items(run("check", str(repo), "--format", "json").stdout)["dockerfile"]["status"] == "auto"


def test_the_documented_example_is_valid(repo_root: Path, tmp_path: Path) -> None:
    docs = (repo_root / "docs/configuration.md").read_text()
    example = docs.split("### A complete example\n\n```yaml\n", 1)[1].split("```", 1)[0]
    custom = TEAM.replace("id: team\n", "id: our-team\n").replace("id: on-call", "id: team-rota")
    write(tmp_path, {".readiness.yml": example, ".github/readiness/our-team.yml": custom})
    result = run("validate", str(tmp_path / ".readiness.yml"))
    assert result.exit_code == 0, result.stderr
    assert "3 checklist(s): production-readiness, backend-build, our-team" in result.stdout


def test_checklist_option_without_a_config_replaces_the_default(tmp_path: Path) -> None:
    write(tmp_path, {"README.md": "hi\n"})
    data = json.loads(run("check", str(tmp_path), "--checklist", "python-backend", "--format", "json").stdout)
    assert [c["id"] for c in data["checklists"]] == ["python-backend"]


def test_the_readme_command_works_on_this_checkout(repo_root: Path) -> None:
    result = run("check", str(repo_root))
    assert result.exit_code == 0, result.stderr
    assert "Production readiness" in result.stdout
    assert "Overall:" in result.stdout
