"""`applies_when`: each condition kind, what an unknown rules out (nothing), and where it shows."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import _register, app
from bot.core import tracker
from bot.core.applicability import PROFILES, repository_facts
from bot.core.decide import APPLIES_ACTOR, decide
from bot.core.errors import TemplateError
from bot.core.pathindex import PathIndex
from bot.core.resolve import ResolvedChecklist
from bot.core.rules import Verdict
from bot.core.settings import RepoConfig
from bot.core.state import ItemState, RegressionPolicy, Status
from bot.core.summary import explain_item
from bot.core.templates import not_applicable, parse_template

TEMPLATE = """\
id: t
title: T
sections:
  - id: web
    title: Web service
    applies_when: {profile: [service, frontend]}
    items:
      - id: health
        title: Health endpoint
        why: Orchestrators restart what does not answer.
        evidence: {contains: {files: '*.py', pattern: healthz}}
  - id: data
    title: Data
    items:
      - id: migrations
        title: Migrations
        why: Schema changes are reviewed.
        applies_when: {paths: ['**/models.py', '*.sql', 'alembic.ini']}
        evidence: {files: ['**/migrations/']}
      - id: gofmt
        title: gofmt in CI
        why: One format.
        applies_when: {languages: go}
        manual: true
      - id: pypi
        title: Published to PyPI
        why: Users install it.
        applies_when: {topics: [python-library, pypi]}
        manual: true
"""


def facts(paths: list[str], **kwargs: typing.Any):
    return repository_facts(PathIndex.build(paths), **kwargs)


def test_each_condition_kind_rules_items_out_with_a_reason() -> None:
    template = parse_template(TEMPLATE, filename="t.yaml")
    library = not_applicable(template, facts(["src/lib/client.py"], profile="library", topics=["http"]))
    assert library == {
        "health": "profile is library; this applies to service or frontend",
        "migrations": "no file matches `**/models.py`, `*.sql` or `alembic.ini`",
        "gofmt": "no go code found",
        "pypi": "the repository has none of the topics python-library or pypi",
    }
    service = facts(["app/models.py", "cmd/main.go"], profile="service", topics=["pypi"])
    assert not_applicable(template, service) == {}


def test_what_cannot_be_known_rules_nothing_out() -> None:
    template = parse_template(TEMPLATE, filename="t.yaml")
    unknown = not_applicable(template, facts(["app/models.py", "main.go"]))  # no profile, no topics
    assert unknown == {}


def test_vendored_or_ignored_languages_are_not_detected_when_left_out_of_the_index() -> None:
    # the callers index the snapshot after `ignore:` and vendored directories are removed
    assert "go" not in facts(["app.py"]).languages
    assert facts(["app.py", "tools/gen.go"]).languages == {"python", "go"}


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "{profile: librar}",
            "t.yaml:9:33: sections[0].items[0].applies_when.profile: unknown profile 'librar'; expected one "
            "of service, library, worker, frontend, cli (did you mean 'library'?)",
        ),
        (
            "{language: go}",
            "t.yaml:9:24: sections[0].items[0].applies_when.language: unknown key 'language' in "
            "`applies_when`; expected languages, paths, profile, topics (did you mean 'languages'?)",
        ),
        (
            "{languages: [go, cobol]}",
            "t.yaml:9:40: sections[0].items[0].applies_when.languages[1]: unknown language 'cobol'; expected "
            "one of python, javascript, typescript, go, ruby, elixir, java, kotlin, rust, php, csharp, "
            "scala, swift",
        ),
        (
            "{paths: []}",
            "t.yaml:9:31: sections[0].items[0].applies_when.paths: `paths` expects a string or a non-empty "
            "list of strings, got an empty list",
        ),
        (
            "{topics: [Python]}",
            "t.yaml:9:33: sections[0].items[0].applies_when.topics[0]: topic 'Python': GitHub topics are "
            "lower case and at most 50 characters",
        ),
        (
            "yes",
            "t.yaml:9:23: sections[0].items[0].applies_when: expected a mapping with one or more of "
            "languages, paths, profile, topics, got str 'yes'",
        ),
    ],
)
def test_bad_conditions_name_file_line_and_what_was_expected(condition: str, message: str) -> None:
    text = (
        "id: t\ntitle: T\nsections:\n  - id: s\n    title: S\n    items:\n      - id: i\n        title: I\n"
        f"        applies_when: {condition}\n        why: w\n        manual: true\n"
    )
    with pytest.raises(TemplateError) as caught:
        parse_template(text, filename="t.yaml")
    assert str(caught.value) == message


def test_the_config_profiles_are_the_ones_conditions_accept() -> None:
    annotation = RepoConfig.model_fields["profile"].annotation
    literal = next(a for a in typing.get_args(annotation) if a is not type(None))
    assert typing.get_args(literal) == PROFILES


NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_an_item_that_does_not_apply_is_skipped_shown_as_such_and_not_counted() -> None:
    template = parse_template(TEMPLATE, filename="t.yaml")
    ruled_out = {"health": "profile is library; this applies to service or frontend"}
    done = ItemState("t", "health", Status.DONE, actor="alice")  # a person's tick, made before
    d = decide(
        checklist="t",
        item_ids=["health"],
        automatic={"health"},
        verdicts={"health": Verdict(True, ("`app.py:1` matches `healthz`",))},
        current={"health": done},
        skips={},
        policy=RegressionPolicy.REOPEN,
        now=NOW,
        not_applicable=ruled_out,
    )
    state = d.states["health"]
    assert state.status is Status.SKIPPED and state.reason == ruled_out["health"]
    body = tracker.render_section(template, template.sections[0], d.states, manual=set(), nonce="0" * 16)
    assert "0 / 0 done (100%)" in body
    assert "not applicable (profile is library; this applies to service or frontend)" in body
    assert "skipped" not in body.split("not applicable")[1].splitlines()[0]
    # when it applies again (the profile changed), evidence decides once more
    again = decide(
        checklist="t",
        item_ids=["health"],
        automatic={"health"},
        verdicts={"health": Verdict(True, ("`app.py:1` matches `healthz`",))},
        current=d.states,
        skips={},
        policy=RegressionPolicy.REOPEN,
        now=NOW,
    )
    assert again.states["health"].status is Status.AUTO


def test_summary_detail_says_not_applicable() -> None:
    template = parse_template(TEMPLATE, filename="t.yaml")
    state = ItemState("t", "health", Status.SKIPPED, actor=APPLIES_ACTOR, reason="no go code found")
    checklist = ResolvedChecklist(template=template, extra_rules={}, skips={})
    text = explain_item(checklist, "health", state)
    assert "- Not applicable (no go code found). It does not count toward progress." in text
    assert "skipped by" not in text


_register()


def test_readiness_check_shows_items_that_do_not_apply_in_every_format(tmp_path: Path) -> None:
    (tmp_path / ".readiness").mkdir()
    (tmp_path / ".readiness/t.yml").write_text(TEMPLATE)
    (tmp_path / ".readiness.yml").write_text(
        "extends: false\nprofile: library\nchecklists:\n  - path: .readiness/t.yml\n"
    )
    (tmp_path / "client.py").write_text("def get(): ...\n")
    runner = CliRunner()
    data = json.loads(runner.invoke(app, ["check", str(tmp_path), "--format", "json"]).stdout)
    items = {i["id"]: i for s in data["checklists"][0]["sections"] for i in s["items"]}
    assert items["health"]["applicable"] is False and items["health"]["status"] == "skipped"
    assert items["health"]["reason"] == "profile is library; this applies to service or frontend"
    assert items["pypi"]["applicable"] is True  # no topics locally: nothing ruled out
    assert data["summary"] == {"done": 0, "open": 1, "skipped": 3, "total": 4, "percent": 0.0}
    text = runner.invoke(app, ["check", str(tmp_path)]).stdout
    assert "Health endpoint — not applicable (profile is library; this applies to service or" in text
    sarif = json.loads(runner.invoke(app, ["check", str(tmp_path), "--format", "sarif"]).stdout)
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "t/health" not in rule_ids and "t/migrations" not in rule_ids
    markdown = runner.invoke(app, ["check", str(tmp_path), "--format", "markdown"]).stdout
    assert "~~Health endpoint~~ — not applicable (profile is library" in markdown


def test_shipped_templates_do_not_ask_a_library_for_health_endpoints_nor_a_dbless_repo_for_migrations() -> (
    None
):
    from bot.resources import load_shipped

    shipped = load_shipped()["production-readiness"]
    library = not_applicable(shipped, facts(["src/client/http.py", "pyproject.toml"], profile="library"))
    assert {"health-check-endpoints", "rate-limiting-throttling", "non-overloading-migrations"} <= set(
        library
    )
    service = not_applicable(shipped, facts(["app/models.py", "alembic.ini"], profile="service"))
    assert service == {}


def test_readiness_check_takes_topics_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / ".readiness").mkdir()
    (tmp_path / ".readiness/t.yml").write_text(TEMPLATE)
    (tmp_path / ".readiness.yml").write_text("extends: false\nchecklists:\n  - path: .readiness/t.yml\n")
    runner = CliRunner()

    def pypi(*args: str) -> dict[str, typing.Any]:
        result = runner.invoke(app, ["check", str(tmp_path), "--format", "json", *args])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        return next(i for s in data["checklists"][0]["sections"] for i in s["items"] if i["id"] == "pypi")

    assert pypi()["applicable"] is True
    ruled_out = pypi("--topic", "cli", "--topic", "Tooling")
    assert ruled_out["applicable"] is False
    assert ruled_out["reason"] == "the repository has none of the topics python-library or pypi"
    assert pypi("--topic", "cli", "--topic", "PyPI")["applicable"] is True
