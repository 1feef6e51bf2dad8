"""The template parser: valid templates become typed data; every mistake names file:line:col and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import TemplateError
from bot.core.rules import CI, Any, Contains, Files
from bot.core.templates import load_templates, parse_template

VALID = """\
id: demo
title: Demo checklist
version: 2
description: >-
  A small checklist.
source: 000_demo.txt
sections:
  - id: build
    title: Build
    items:
      - id: dockerfile
        title: Container image
        why: Reproducible builds
        description: A Dockerfile at the root or per service
        source: {section: "1. Build", lines: [9, 12]}
        evidence:
          any:
            - files: [Dockerfile, "**/Dockerfile"]
            - contains: {files: "*.yml", pattern: 'image:\\s', ignore_case: true, max_files: 5}
      - id: ci-green
        title: CI passes
        why: Broken builds are caught early
        evidence:
          ci: ["test", "*lint*"]
  - id: people
    title: People
    items:
      - id: kickoff
        title: Kickoff held
        why: Shared goals
        manual: true
"""


def parse(text: str) -> object:
    return parse_template(text, filename="demo.yaml")


def error(text: str) -> str:
    with pytest.raises(TemplateError) as info:
        parse_template(text, filename="demo.yaml")
    return str(info.value)


def test_valid_template() -> None:
    t = parse_template(VALID, filename="demo.yaml")
    assert (t.id, t.title, t.version, t.source, t.origin) == (
        "demo",
        "Demo checklist",
        2,
        "000_demo.txt",
        "demo.yaml",
    )
    assert t.description == "A small checklist."
    assert [s.id for s in t.sections] == ["build", "people"]
    assert [(s.id, i.id) for s, i in t.items()] == [
        ("build", "dockerfile"),
        ("build", "ci-green"),
        ("people", "kickoff"),
    ]
    docker = t.item("dockerfile")
    assert docker is not None
    assert docker.rule == Any(
        (
            Files(("Dockerfile", "**/Dockerfile")),
            Contains(("*.yml",), r"image:\s", ignore_case=True, max_files=5, scope="code"),
        )
    )
    assert (docker.source_section, docker.source_lines) == ("1. Build", (9, 12))
    assert docker.description == "A Dockerfile at the root or per service"
    assert not docker.manual
    assert t.item("ci-green").rule == CI(("test", "*lint*"))  # type: ignore[union-attr]
    kickoff = t.item("kickoff")
    assert kickoff is not None and kickoff.manual and kickoff.rule is None
    assert kickoff.source_lines == ()


def test_version_defaults_to_one_and_bytes_are_accepted() -> None:
    text = VALID.replace("version: 2\n", "")
    assert parse_template(text.encode(), filename="demo.yaml").version == 1


def replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


DOCKER_RULE = """\
          any:
            - files: [Dockerfile, "**/Dockerfile"]
            - contains: {files: "*.yml", pattern: 'image:\\s', ignore_case: true, max_files: 5}
"""


def with_rule(rule_yaml: str) -> str:
    """VALID with the dockerfile item's evidence replaced (rule lines indented by 10)."""
    return replace(DOCKER_RULE, rule_yaml)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            replace("        evidence:\n          any:", "        evidense:\n          any:"),
            "demo.yaml:16:9: sections[0].items[0].evidense: unknown key 'evidense' in an item; expected one "
            "of id, title, why, description, source, evidence, manual, ttl, owner, applies_when (did you mean 'evidence'?)",
            id="misspelled-item-key",
        ),
        pytest.param(
            with_rule("          contain: {files: '*.py', pattern: x}\n"),
            "demo.yaml:17:11: sections[0].items[0].evidence.contain: unknown rule kind 'contain'; expected "
            "one of files, contains, dependency, ci, all, any, not (did you mean 'contains'?)",
            id="misspelled-rule-kind",
        ),
        pytest.param(
            with_rule("          contains: {files: '*.py', patern: x}\n"),
            "demo.yaml:17:37: sections[0].items[0].evidence.contains.patern: unknown key 'patern' in "
            "`contains`; expected files, pattern, ignore_case, max_files, max_bytes, scope "
            "(did you mean 'pattern'?)",
            id="misspelled-contains-key",
        ),
        pytest.param(
            with_rule("          contains: {files: '*.py'}\n"),
            "demo.yaml:17:11: sections[0].items[0].evidence.contains: `contains` needs `pattern`",
            id="contains-without-pattern",
        ),
        pytest.param(
            with_rule("          files: Dockerfile\n          ci: build\n"),
            "demo.yaml:17:11: sections[0].items[0].evidence: a rule has exactly one key, found 2 (files, ci);"
            " combine them with `all:` or `any:`",
            id="two-kinds-in-one-rule",
        ),
        pytest.param(
            with_rule("          any: []\n"),
            "demo.yaml:17:16: sections[0].items[0].evidence.any: `any` expects a non-empty list of rules, "
            "got an empty list",
            id="empty-any",
        ),
        pytest.param(
            with_rule("          not: [files: x]\n"),
            "demo.yaml:17:16: sections[0].items[0].evidence.not: expected a rule: a mapping with one key out "
            "of files, contains, dependency, ci, all, any, not, got a list",
            id="not-takes-one-rule",
        ),
        pytest.param(
            with_rule("          all:\n            - files: x\n            - 42\n"),
            "demo.yaml:19:15: sections[0].items[0].evidence.all[1]: expected a rule: a mapping with one key "
            "out of files, contains, dependency, ci, all, any, not, got int 42",
            id="nested-non-rule",
        ),
        pytest.param(
            with_rule("          files: [Dockerfile, 'src/[abc']\n"),
            "demo.yaml:17:31: sections[0].items[0].evidence.files[1]: glob 'src/[abc': invalid glob (check "
            "for an unclosed '[' or a lone '/')",
            id="invalid-glob",
        ),
        pytest.param(
            with_rule("          files: '!Dockerfile'\n"),
            "demo.yaml:17:18: sections[0].items[0].evidence.files: glob '!Dockerfile': negated globs ('!') "
            "are not supported here; wrap the rule in `not:` instead",
            id="negated-glob",
        ),
        pytest.param(
            with_rule("          files: []\n"),
            "demo.yaml:17:18: sections[0].items[0].evidence.files: expected file globs: a string or a "
            "non-empty list of strings, got an empty list",
            id="empty-globs",
        ),
        pytest.param(
            with_rule("          contains: {files: '*.py', pattern: 'foo(?=bar)'}\n"),
            "demo.yaml:17:46: sections[0].items[0].evidence.contains.pattern: pattern is not valid RE2 syntax"
            " (invalid perl operator: (?=); RE2 runs in linear time and does not support lookaround ((?=, "
            "(?!, (?<=, (?<!) or backreferences (\\1)",
            id="re2-lookahead",
        ),
        pytest.param(
            with_rule("          contains: {files: '*.py', pattern: '(a)\\1'}\n"),
            "demo.yaml:17:46: sections[0].items[0].evidence.contains.pattern: pattern is not valid RE2 syntax"
            " (invalid escape sequence: \\1); RE2 runs in linear time and does not support lookaround ((?=, "
            "(?!, (?<=, (?<!) or backreferences (\\1)",
            id="re2-backreference",
        ),
        pytest.param(
            with_rule("          contains: {files: '*.py', pattern: x, max_files: 0}\n"),
            "demo.yaml:17:60: sections[0].items[0].evidence.contains.max_files: expected a whole number "
            "from 1 to 10000, got int 0",
            id="max-files-range",
        ),
        pytest.param(
            with_rule("          contains: {files: '*.py', pattern: x, ignore_case: 'yes'}\n"),
            "demo.yaml:17:62: sections[0].items[0].evidence.contains.ignore_case: expected true or false, "
            "got str 'yes'",
            id="ignore-case-type",
        ),
        pytest.param(
            with_rule("          ci: [build, 7]\n"),
            "demo.yaml:17:23: sections[0].items[0].evidence.ci[1]: expected a non-empty string, got int 7",
            id="ci-glob-type",
        ),
        pytest.param(
            replace("        manual: true\n", "        manual: true\n        evidence: {files: x}\n"),
            "demo.yaml:31:9: sections[1].items[0].manual: an item has either `evidence` or `manual: true`, "
            "not both",
            id="evidence-and-manual",
        ),
        pytest.param(
            replace("        manual: true\n", ""),
            "demo.yaml:28:9: sections[1].items[0]: an item needs `evidence` (a rule) or `manual: true`",
            id="neither-evidence-nor-manual",
        ),
        pytest.param(
            replace("        manual: true\n", "        manual: 'sure'\n"),
            "demo.yaml:31:17: sections[1].items[0].manual: expected true or false, got str 'sure'",
            id="manual-type",
        ),
        pytest.param(
            replace("- id: ci-green", "- id: dockerfile"),
            "demo.yaml:20:13: sections[0].items[1].id: duplicate item id 'dockerfile' (also on line 11)",
            id="duplicate-item-id-same-section",
        ),
        pytest.param(
            replace("- id: kickoff", "- id: dockerfile"),
            "demo.yaml:28:13: sections[1].items[0].id: duplicate item id 'dockerfile' (also on line 11)",
            id="duplicate-item-id-across-sections",
        ),
        pytest.param(
            replace("- id: people", "- id: build"),
            "demo.yaml:25:9: sections[1].id: duplicate section id 'build' (also on line 8)",
            id="duplicate-section-id",
        ),
        pytest.param(
            replace("- id: kickoff", "- id: Kick_off"),
            "demo.yaml:28:13: sections[1].items[0].id: 'Kick_off' is not a valid id: use lowercase letters, "
            "digits and '-'",
            id="bad-slug",
        ),
        pytest.param(
            replace("        why: Shared goals\n", ""),
            "demo.yaml:28:9: sections[1].items[0]: missing required key 'why'",
            id="missing-why",
        ),
        pytest.param(
            replace("title: Demo checklist\n", ""),
            "demo.yaml:1:1: missing required key 'title'",
            id="missing-title",
        ),
        pytest.param(
            replace("version: 2", "versoin: 2"),
            "demo.yaml:3:1: versoin: unknown key 'versoin' in a template; expected one of id, title, "
            "version, description, source, sections (did you mean 'version'?)",
            id="misspelled-top-level-key",
        ),
        pytest.param(
            replace("version: 2", "version: two"),
            "demo.yaml:3:10: version: expected a whole number >= 1, got str 'two'",
            id="version-type",
        ),
        pytest.param(
            replace("lines: [9, 12]", "lines: [9, 0]"),
            "demo.yaml:15:50: sections[0].items[0].source.lines[1]: expected a line number (1 or more), "
            "got int 0",
            id="source-line-number",
        ),
        pytest.param(
            replace("    items:\n      - id: kickoff", "    itmes:\n      - id: kickoff"),
            "demo.yaml:27:5: sections[1].itmes: unknown key 'itmes' in a section; expected one of id, title, owner, "
            "items, applies_when (did you mean 'items'?)",
            id="misspelled-section-key",
        ),
        pytest.param(
            "id: demo\ntitle: T\nsections: {}\n",
            "demo.yaml:3:11: sections: expected a non-empty list, got an empty mapping",
            id="sections-not-a-list",
        ),
        pytest.param(
            "- a\n- b\n",
            "demo.yaml:1:1: expected a template (a mapping with id, title, version, description, source, "
            "sections), got a list",
            id="not-a-mapping",
        ),
        pytest.param(
            replace("        why: Shared goals", "        why: Shared: goals"),
            "demo.yaml:30:20: YAML syntax error: mapping values are not allowed in this context; put the "
            "value in quotes if it contains ': '",
            id="yaml-syntax",
        ),
        pytest.param(
            replace("id: demo\n", "id: demo\nid: other\n"),
            "demo.yaml:2:1: id: duplicate key 'id' (first defined on line 1)",
            id="duplicate-yaml-key",
        ),
    ],
)
def test_invalid_templates_say_where_and_what(text: str, expected: str) -> None:
    assert error(text) == expected


def test_template_errors_carry_structured_fields() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(
            replace("        evidence:\n          any:", "        evidense:\n          any:"),
            filename="x.yaml",
        )
    err = info.value
    assert (err.file, err.line, err.column) == ("x.yaml", 16, 9)
    assert err.path == "sections[0].items[0].evidense"
    assert err.suggestion == "evidence"


def test_python_tags_in_templates_are_rejected() -> None:
    assert "Python-specific tag" in error("id: !!python/object/apply:os.system [ls]\n")


def test_load_templates_reads_a_directory(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(VALID)
    (tmp_path / "other.yml").write_text(VALID.replace("id: demo", "id: other"))
    (tmp_path / "notes.txt").write_text("not a template")
    loaded = load_templates(tmp_path)
    assert sorted(loaded) == ["demo", "other"]
    assert loaded["other"].origin == "other.yml"


def test_load_templates_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text("# copy\n" + VALID)
    with pytest.raises(TemplateError) as info:
        load_templates(tmp_path)
    assert str(info.value) == "b.yaml:2:5: id: duplicate template id 'demo' (also in a.yaml)"


def test_load_templates_reports_the_file_with_the_error(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(VALID)
    (tmp_path / "bad.yaml").write_text(VALID.replace("why: Shared goals", "why: ''"))
    with pytest.raises(TemplateError) as info:
        load_templates(tmp_path)
    assert str(info.value).startswith("bad.yaml:30:14: sections[1].items[0].why: expected a non-empty string")


def test_the_example_in_the_docs_parses_and_behaves(repo_root: Path) -> None:
    from bot.core.rules import compile_checklist, evaluate
    from bot.core.snapshot import CIResult, RepoSnapshot

    doc = (repo_root / "docs" / "templates.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    template = parse_template(example, filename="my-service.yaml")
    assert [item.id for _, item in template.items()] == [
        "container-image",
        "ci-tests",
        "health-endpoint",
        "no-private-keys",
        "on-call-rota",
    ]
    files = {
        "Dockerfile": b"FROM python:3.12\n",
        ".github/workflows/ci.yml": b"jobs: {test: {}}\n",
        "app/main.py": b'@app.get("/healthz")\ndef health(): ...\n',
    }
    snap = RepoSnapshot(paths=list(files), read=files.get, ci=(CIResult("test", "success"),))
    verdicts = evaluate(compile_checklist(template), snap)
    assert {k: v.passed for k, v in verdicts.items()} == {
        "container-image": True,
        "ci-tests": True,
        "health-endpoint": True,
        "no-private-keys": True,
    }
    assert verdicts["health-endpoint"].evidence == ('`app/main.py:1` matches `"/healthz"`',)


def test_ttl_is_a_duration_on_manual_items_only():
    from bot.core.errors import TemplateError

    base = "id: t\ntitle: T\nsections:\n  - id: s\n    title: S\n    items:\n      - {id: i, title: I, why: w, %s}\n"
    assert (
        parse_template(base % "manual: true, ttl: 12w", filename="t.yaml").sections[0].items[0].ttl_days == 84
    )
    for bad, where in [
        ("manual: true, ttl: soon", "90d"),
        ("evidence: {files: [x]}, ttl: 90d", "manual item"),
    ]:
        with pytest.raises(TemplateError) as info:
            parse_template(base % bad, filename="t.yaml")
        assert info.value.line == 7 and where in info.value.message
