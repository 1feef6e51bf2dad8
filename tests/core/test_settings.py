""".readiness.yml: defaults, every key, and precise errors for the mistakes people make."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from bot.core.errors import ConfigError, InputError
from bot.core.resolve import apply_ignore, resolve_checklists
from bot.core.rules import Files
from bot.core.settings import (
    DEFAULT_CHECKLISTS,
    ChecklistChoice,
    RepoConfig,
    SummarySchedule,
    config_data,
    config_json_schema,
    merge_config_data,
    parse_config,
)
from bot.core.snapshot import RepoSnapshot
from bot.core.state import RegressionPolicy
from bot.core.templates import Template, parse_template

SHIPPED = ("production-readiness", "backend-build", "python-backend")

FULL = """\
extends: false
checklists:
  - production-readiness
  - id: backend-build
    exclude_sections: [product-engineering-alignment]
    exclude_items: [roadmap-visibility]
  - path: .github/readiness/our-team.yml
items:
  backend-build/load-testing: {skip: "Batch job with no user traffic"}
  production-readiness/runbooks: {evidence: {files: ["ops/runbooks/"]}}
issues:
  labels: [readiness, platform]
  assignees: [alice]
summary:
  day: Friday
  time: 17:30
  timezone: Europe/Berlin
on_regression: untick
"""


def parse(text: str) -> RepoConfig:
    return parse_config(text, shipped_ids=SHIPPED)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


def test_empty_file_means_defaults() -> None:
    for text in ("", "# nothing yet\n", "issues:\nsummary:\n"):
        config = parse(text)
        assert config.extends == "organization"
        assert [c.id for c in config.chosen] == list(DEFAULT_CHECKLISTS)
        assert config.issues.labels == ("readiness",)
        assert config.issues.assignees == ()
        assert config.summary == SummarySchedule(day="monday", time="09:00", timezone="UTC")
        assert config.on_regression is RegressionPolicy.REOPEN
        assert config.items == {}


def test_full_example_parses_every_key() -> None:
    config = parse(FULL)
    assert config.extends is False
    assert config.checklists == (
        ChecklistChoice(id="production-readiness"),
        ChecklistChoice(
            id="backend-build",
            exclude_sections=("product-engineering-alignment",),
            exclude_items=("roadmap-visibility",),
        ),
        ChecklistChoice(path=".github/readiness/our-team.yml"),
    )
    assert config.items["backend-build/load-testing"].skip == "Batch job with no user traffic"
    assert config.items["production-readiness/runbooks"].evidence == {"files": ["ops/runbooks/"]}
    assert config.issues.labels == ("readiness", "platform")
    assert config.issues.assignees == ("alice",)
    assert config.summary == SummarySchedule(day="friday", time="17:30", timezone="Europe/Berlin")
    assert config.on_regression is RegressionPolicy.UNTICK


@pytest.mark.parametrize("text", ["summary: off\n", "summary: false\n"])
def test_summary_can_be_switched_off(text: str) -> None:
    assert parse(text).summary is None


def test_summary_time_is_normalised() -> None:
    assert parse("summary: {time: '9:05'}\n").summary == SummarySchedule(time="09:05")


def test_a_single_label_string_is_a_list() -> None:
    assert parse("issues: {labels: ops}\n").issues.labels == ("ops",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "checklist: [production-readiness]\n",
            ".readiness.yml:1:1: checklist: unknown key 'checklist'; expected one of: extends, checklists, "
            "items, ignore, ignore_vendored, scopes, profile, owners, issues, summary, on_regression "
            "(did you mean 'checklists'?)",
        ),
        (
            "checklists:\n  - prod-readiness\n",
            ".readiness.yml:2:5: checklists[0]: unknown checklist 'prod-readiness'; shipped checklists: "
            "backend-build, production-readiness, python-backend (did you mean 'production-readiness'?)",
        ),
        (
            "checklists:\n  - production-readiness\n  - id: backend-bild\n",
            ".readiness.yml:3:9: checklists[1].id: unknown checklist 'backend-bild'; shipped checklists: "
            "backend-build, production-readiness, python-backend (did you mean 'backend-build'?)",
        ),
        (
            "checklists:\n  - id: backend-build\n    exlude_items: [x]\n",
            ".readiness.yml:3:5: checklists[0].exlude_items: unknown key 'exlude_items'; expected one of: "
            "id, path, exclude_sections, exclude_items (did you mean 'exclude_items'?)",
        ),
        (
            "checklists:\n  - {id: backend-build, path: team.yml}\n",
            ".readiness.yml:2:5: checklists[0]: give exactly one of `id` (a shipped checklist) "
            "or `path` (a custom template)",
        ),
        (
            "checklists:\n  - exclude_items: [x]\n",
            ".readiness.yml:2:5: checklists[0]: give exactly one of `id` (a shipped checklist) "
            "or `path` (a custom template)",
        ),
        (
            "checklists:\n  - path: ../other/team.yml\n",
            ".readiness.yml:2:11: checklists[0].path: expected a relative path inside the repository, "
            "like `.github/readiness/team.yml`",
        ),
        (
            "checklists:\n  - path: /etc/team.yml\n",
            ".readiness.yml:2:11: checklists[0].path: expected a relative path inside the repository, "
            "like `.github/readiness/team.yml`",
        ),
        (
            "checklists:\n  - path: team.json\n",
            ".readiness.yml:2:11: checklists[0].path: expected a YAML file ending in .yml or .yaml",
        ),
        (
            "checklists:\n  - backend-build\n  - backend-build\n",
            ".readiness.yml:3:5: checklists[1]: 'backend-build' is listed twice (first at checklists[0])",
        ),
        (
            "checklists: []\n",
            ".readiness.yml:1:13: checklists: choose at least one checklist, or leave `checklists` out "
            "for the default",
        ),
        ("checklists: production-readiness\n", ".readiness.yml:1:13: checklists: expected a list"),
        (
            "checklists:\n  - [a]\n",
            ".readiness.yml:2:5: checklists[0]: expected a checklist id, or a mapping with `id` or `path`",
        ),
        (
            "items:\n  backend-build/load-testing: {skip: ''}\n",
            ".readiness.yml:2:38: items['backend-build/load-testing'].skip: skip needs a reason, "
            'e.g. skip: "Batch job with no user traffic"',
        ),
        (
            "items:\n  load-testing:\n    skip: true\n",
            ".readiness.yml:3:11: items.load-testing.skip: skip needs a reason, "
            'e.g. skip: "Batch job with no user traffic"',
        ),
        (
            "items:\n  load-testing:\n    skip:\n",
            ".readiness.yml:3:10: items.load-testing.skip: skip needs a reason, "
            'e.g. skip: "Batch job with no user traffic"',
        ),
        (
            "items:\n  load-testing: {}\n",
            ".readiness.yml:2:17: items.load-testing: expected `skip: <reason>`, `evidence: <rule>`, "
            "`ttl: <duration>`, `mandatory: true` or `approvers: [...]`",
        ),
        (
            "items:\n  load-testing: {skipped: yes}\n",
            ".readiness.yml:2:18: items.load-testing.skipped: unknown key 'skipped'; expected one of: "
            "skip, ttl, until, evidence, mandatory, approvers (did you mean 'skip'?)",
        ),
        (
            "items:\n  Load Testing: {skip: n/a}\n",
            ".readiness.yml:2:3: items['Load Testing']: expected an item key like "
            "'backend-build/load-testing' or 'load-testing', got 'Load Testing'",
        ),
        ("items: [load-testing]\n", ".readiness.yml:1:8: items: expected a mapping"),
        ("items:\n  1: {skip: x}\n", ".readiness.yml:2:3: items.1: keys here must be strings"),
        (
            "items:\n  runbooks:\n    evidence: files\n",
            ".readiness.yml:3:15: items.runbooks.evidence: expected a rule: a mapping with one key out of "
            "files, contains, dependency, ci, all, any, not, got str 'files'",
        ),
        (
            "checklists:\n  - 1\n",
            ".readiness.yml:2:5: checklists[0]: expected a checklist id, or a mapping with `id` or `path`",
        ),
        ("checklists:\n  - id: 5\n", ".readiness.yml:2:9: checklists[0].id: expected a string"),
        (
            "checklists:\n  - id: backend-build\n    exclude_items: roadmap\n",
            ".readiness.yml:3:20: checklists[0].exclude_items: expected a list",
        ),
        (
            "on_regression: [reopen]\n",
            ".readiness.yml:1:16: on_regression: expected 'reopen', 'untick', or 'keep', got a list",
        ),
        ("extends: true\n", ".readiness.yml:1:10: extends: expected 'organization' or false, got true"),
        (
            "ignore:\n  - vendor/\n  - '!vendor/keep/'\n",
            ".readiness.yml:3:5: ignore[1]: negated globs ('!') are not supported in `ignore`",
        ),
        (
            "ignore: ['docs/[ab']\n",
            ".readiness.yml:1:10: ignore[0]: glob 'docs/[ab': invalid glob "
            "(check for an unclosed '[' or a lone '/')",
        ),
        ("issues:\n  labels: [ok, '']\n", ".readiness.yml:2:11: issues.labels: expected non-empty names"),
        (
            "issues:\n  lables: [ops]\n",
            ".readiness.yml:2:3: issues.lables: unknown key 'lables'; expected one of: labels, assignees, layout "
            "(did you mean 'labels'?)",
        ),
        ("issues:\n  assignees: [1]\n", ".readiness.yml:2:15: issues.assignees[0]: expected a string"),
        (
            "summary:\n  timezone: Europe/Berln\n",
            ".readiness.yml:2:13: summary.timezone: unknown time zone 'Europe/Berln'; expected an IANA name "
            "like Europe/Berlin (did you mean 'Europe/Berlin'?)",
        ),
        (
            "summary:\n  timezone: CEST+2\n",
            ".readiness.yml:2:13: summary.timezone: unknown time zone 'CEST+2'; expected an IANA name "
            "like Europe/Berlin",
        ),
        (
            "summary:\n  timezone: ../../etc/passwd\n",
            ".readiness.yml:2:13: summary.timezone: unknown time zone '../../etc/passwd'; expected an IANA "
            "name like Europe/Berlin",
        ),
        *(
            (  # a time-zone directory is not a zone (it crashed with IsADirectoryError)
                f"summary:\n  timezone: {zone}\n",
                f".readiness.yml:2:13: summary.timezone: unknown time zone '{zone}'; expected an IANA "
                "name like Europe/Berlin",
            )
            for zone in ("Europe", "America", "Etc")
        ),
        (
            "summary:\n  day: mondy\n",
            ".readiness.yml:2:8: summary.day: expected 'monday', 'tuesday', 'wednesday', 'thursday', "
            "'friday', 'saturday', or 'sunday', got 'mondy' (did you mean 'monday'?)",
        ),
        (
            "summary:\n  time: 25:00\n",
            ".readiness.yml:2:9: summary.time: expected a time HH:MM on a 24-hour clock, e.g. 09:00 or 17:30",
        ),
        (
            "summary:\n  time: 9\n",
            ".readiness.yml:2:9: summary.time: expected a time HH:MM on a 24-hour clock, e.g. 09:00 or 17:30",
        ),
        ("summary: weekly\n", ".readiness.yml:1:10: summary: expected a mapping"),
        (
            "on_regression: reopn\n",
            ".readiness.yml:1:16: on_regression: expected 'reopen', 'untick', or 'keep', got 'reopn' "
            "(did you mean 'reopen'?)",
        ),
        ("extends: yes\n", ".readiness.yml:1:10: extends: expected 'organization' or false, got 'yes'"),
        (
            "extends: organisation\n",
            ".readiness.yml:1:10: extends: expected 'organization' or false, got 'organisation' "
            "(did you mean 'organization'?)",
        ),
        (
            "- production-readiness\n",
            ".readiness.yml:1:1: expected a mapping of settings (e.g. `checklists: [...]`)",
        ),
        (
            "summary: off\nsummary: {day: monday}\n",
            ".readiness.yml:2:1: summary: duplicate key 'summary' (first defined on line 1)",
        ),
        (
            "checklists: [a\n",
            ".readiness.yml:2:1: YAML syntax error: did not find expected ',' or ']' "
            "(while parsing a flow sequence on line 1)",
        ),
        (
            "extends: !!python/object/apply:os.system ['true']\n",
            ".readiness.yml:1:10: extends: Python-specific tag 'python/object/apply:os.system' is not "
            "allowed: only plain YAML data is accepted",
        ),
    ],
)
def test_invalid_configs_are_reported_precisely(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_the_first_problem_in_the_file_is_reported() -> None:
    text = "on_regression: reopn\nchecklist: []\n"
    assert error_of(text).startswith(".readiness.yml:1:16: on_regression:")


def test_alias_bombs_and_huge_files_are_rejected() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefg":
        prev = chr(ord(level) - 1)
        bomb += (
            f"{level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        )
    assert "billion laughs" in error_of(bomb)
    assert "the limit is 1048576 bytes" in error_of("# " + "x" * 1_100_000)


def test_error_carries_file_line_column_path_and_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            "checklists:\n  - id: backend-bild\n", filename="repo/.readiness.yml", shipped_ids=SHIPPED
        )
    error = caught.value
    assert (error.file, error.line, error.column) == ("repo/.readiness.yml", 2, 9)
    assert error.path == "checklists[0].id"
    assert error.suggestion == "backend-build"


def test_organisation_default_merges_under_the_repository() -> None:
    org = {
        "checklists": ["production-readiness", "backend-build"],
        "issues": {"labels": ["readiness"], "assignees": ["platform-bot"]},
        "summary": {"day": "friday", "timezone": "Europe/Berlin"},
        "items": {"backend-build/load-testing": {"skip": "org-wide"}},
    }
    repo = {
        "checklists": ["python-backend"],
        "issues": {"labels": ["ops"], "assignees": None},
        "summary": {"time": "10:00"},
        "items": {"python-backend/typing": {"skip": "legacy"}},
    }
    merged = merge_config_data(org, repo)
    assert merged == {
        "checklists": ["python-backend"],  # lists replace
        "issues": {"labels": ["ops"], "assignees": ["platform-bot"]},  # empty keeps the org value
        "summary": {"day": "friday", "timezone": "Europe/Berlin", "time": "10:00"},  # mappings merge
        "items": {
            "backend-build/load-testing": {"skip": "org-wide"},
            "python-backend/typing": {"skip": "legacy"},
        },
    }
    assert merge_config_data({"summary": {"day": "friday"}}, {"summary": "off"}) == {"summary": "off"}


def test_parse_with_an_organisation_base() -> None:
    base = config_data("summary: {day: friday}\nissues: {assignees: [lead]}\n", filename="org/.readiness.yml")
    config = parse_config("summary: {time: '08:15'}\n", shipped_ids=SHIPPED, base=base)
    assert config.summary == SummarySchedule(day="friday", time="08:15", timezone="UTC")
    assert config.issues.assignees == ("lead",)


def test_json_schema_lists_shipped_ids_and_every_key() -> None:
    schema = config_json_schema(shipped_ids=SHIPPED)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {
        "extends",
        "checklists",
        "items",
        "ignore",
        "ignore_vendored",
        "scopes",
        "profile",
        "issues",
        "summary",
        "on_regression",
        "owners",
    }
    assert schema["additionalProperties"] is False
    valid = Draft202012Validator(schema).is_valid
    for shipped in SHIPPED:  # the shipped ids, as a bare string or as `id:`
        assert valid({"checklists": [shipped]})
        assert valid({"checklists": [{"id": shipped}]})
    assert not valid({"checklists": ["prod-readiness"]})
    assert not valid({"checklists": [{"id": "prod-readiness"}]})
    assert valid({"summary": "off"})
    assert valid({"extends": False}) and not valid({"extends": "org"})
    assert valid({"on_regression": "untick"}) and not valid({"on_regression": "close"})
    assert schema["properties"]["on_regression"]["description"]
    for kind in ("files", "ci"):
        assert valid({"items": {"x": {"evidence": {kind: "a"}}}})
    assert not valid({"items": {"x": {"evidence": {"file": "a"}}}})


# ---------------------------------------------------------------------------------------- resolution

ALPHA = """\
id: alpha
title: Alpha
sections:
  - id: build
    title: Build
    items:
      - {id: dockerfile, title: Dockerfile, why: w, evidence: {files: Dockerfile}}
      - {id: load-testing, title: Load tests, why: w, evidence: {files: locustfile.py}}
  - id: people
    title: People
    items:
      - {id: on-call, title: On-call, why: w, manual: true}
"""
BETA = """\
id: beta
title: Beta
sections:
  - id: ops
    title: Ops
    items:
      - {id: load-testing, title: Load tests, why: w, evidence: {ci: "*load*"}}
      - {id: runbooks, title: Runbooks, why: w, evidence: {files: docs/runbooks/}}
"""


@pytest.fixture
def shipped() -> dict[str, Template]:
    return {
        "alpha": parse_template(ALPHA, filename="alpha.yaml"),
        "beta": parse_template(BETA, filename="beta.yaml"),
    }


def resolve(text: str, shipped: dict[str, Template], files: dict[str, str | bytes] | None = None):
    config = parse_config(text, shipped_ids=shipped)
    return resolve_checklists(config, shipped=shipped, read=(files or {}).get)


def resolve_error(
    text: str, shipped: dict[str, Template], files: dict[str, str | bytes] | None = None
) -> str:
    with pytest.raises(InputError) as caught:
        resolve(text, shipped, files)
    return str(caught.value)


def ids(template: Template) -> list[tuple[str, list[str]]]:
    return [(s.id, [i.id for i in s.items]) for s in template.sections]


def test_default_is_production_readiness() -> None:
    pr = parse_template(ALPHA.replace("id: alpha", "id: production-readiness"), filename="pr.yaml")
    [resolved] = resolve_checklists(RepoConfig(), shipped={"production-readiness": pr}, read={}.get)
    assert resolved.template is pr
    assert resolved.source == "shipped"
    assert (resolved.extra_rules, resolved.skips) == ({}, {})


def test_exclusions_drop_sections_items_and_emptied_sections(shipped: dict[str, Template]) -> None:
    [alpha, beta] = resolve(
        "checklists:\n  - id: alpha\n    exclude_sections: [people]\n    exclude_items: [dockerfile]\n"
        "  - id: beta\n    exclude_items: [load-testing, runbooks]\n",
        shipped,
    )
    assert ids(alpha.template) == [("build", ["load-testing"])]
    assert ids(beta.template) == []
    assert ids(shipped["alpha"]) == [("build", ["dockerfile", "load-testing"]), ("people", ["on-call"])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "checklists:\n  - id: alpha\n    exclude_sections: [bild]\n",
            ".readiness.yml:3:24: checklists[0].exclude_sections[0]: checklist 'alpha' has no section 'bild' "
            "(did you mean 'build'?)",
        ),
        (
            "checklists:\n  - id: alpha\n    exclude_items: [on-cal]\n",
            ".readiness.yml:3:21: checklists[0].exclude_items[0]: checklist 'alpha' has no item 'on-cal' "
            "(did you mean 'on-call'?)",
        ),
        (
            "checklists: [alpha, beta]\nitems:\n  load-testing: {skip: n/a}\n",
            ".readiness.yml:3:3: items.load-testing: item 'load-testing' is in several chosen checklists; "
            "write 'alpha/load-testing' and 'beta/load-testing'",
        ),
        (
            "checklists: [alpha]\nitems:\n  runbooks: {skip: n/a}\n",
            ".readiness.yml:3:3: items.runbooks: no chosen checklist has an item 'runbooks'",
        ),
        (
            "checklists: [alpha]\nitems:\n  dockerfle: {skip: n/a}\n",
            ".readiness.yml:3:3: items.dockerfle: no chosen checklist has an item 'dockerfle' "
            "(did you mean 'dockerfile'?)",
        ),
        (
            "checklists: [alpha]\nitems:\n  beta/runbooks: {skip: n/a}\n",
            ".readiness.yml:3:3: items['beta/runbooks']: 'beta' is not one of the chosen checklists (alpha)",
        ),
        (
            "checklists: [alpha]\nitems:\n  alpha/on-cal: {skip: n/a}\n",
            ".readiness.yml:3:3: items['alpha/on-cal']: checklist 'alpha' has no item 'on-cal' "
            "(did you mean 'on-call'?)",
        ),
        (
            "checklists:\n  - path: team/checklist.yml\n",
            ".readiness.yml:2:11: checklists[0].path: custom template 'team/checklist.yml' not found "
            "in the repository",
        ),
        (
            "checklists:\n  - alpha\n  - path: team/alpha-copy.yml\n",
            ".readiness.yml:3:5: checklists[1]: two chosen checklists have the id 'alpha' "
            "(see checklists[0])",
        ),
        (
            "checklists:\n  - path: team/binary.yml\n",
            ".readiness.yml:2:11: checklists[0].path: custom template 'team/binary.yml' is not UTF-8 text",
        ),
        (
            "checklists:\n  - path: team/broken.yml\n",
            "team/broken.yml:1:5: id: 'Team' is not a valid id: use lowercase letters, digits and '-'",
        ),
    ],
)
def test_resolution_errors_point_at_the_config(
    text: str, expected: str, shipped: dict[str, Template]
) -> None:
    files: dict[str, str | bytes] = {
        "team/alpha-copy.yml": ALPHA,
        "team/binary.yml": b"id: \xff\xfe\n",
        "team/broken.yml": ALPHA.replace("id: alpha", "id: Team"),
    }
    assert resolve_error(text, shipped, files) == expected


def test_overrides_attach_to_the_right_checklist(shipped: dict[str, Template]) -> None:
    alpha, beta = resolve(
        "checklists: [alpha, beta]\n"
        "items:\n"
        "  alpha/load-testing: {skip: '  Batch job  '}\n"
        "  runbooks: {evidence: {files: ops/playbooks/}}\n"
        "  on-call: {evidence: {files: ONCALL.md}}\n",
        shipped,
    )
    assert alpha.skips == {"load-testing": "Batch job"}
    assert beta.skips == {}
    assert beta.extra_rules == {"runbooks": Files(("ops/playbooks/",))}
    assert alpha.extra_rules == {"on-call": Files(("ONCALL.md",))}


def test_overrides_of_excluded_items_are_ignored(shipped: dict[str, Template]) -> None:
    [alpha] = resolve(
        "checklists:\n  - {id: alpha, exclude_sections: [people]}\nitems:\n  on-call: {skip: covered}\n",
        shipped,
    )
    assert alpha.skips == {}


def test_custom_template_by_path(shipped: dict[str, Template]) -> None:
    team = ALPHA.replace("id: alpha", "id: team").replace("title: Alpha", "title: Team")
    resolved = resolve(
        "checklists:\n  - beta\n  - path: .github/readiness/team.yml\n    exclude_items: [on-call]\n"
        "items:\n  team/dockerfile: {skip: serverless}\n",
        shipped,
        {".github/readiness/team.yml": team.encode()},
    )
    assert [r.template.id for r in resolved] == ["beta", "team"]
    assert resolved[1].source == ".github/readiness/team.yml"
    assert ids(resolved[1].template) == [("build", ["dockerfile", "load-testing"])]
    assert resolved[1].skips == {"dockerfile": "serverless"}


def test_extra_evidence_rules_are_validated_with_positions() -> None:
    assert error_of("items:\n  runbooks:\n    evidence: {file: docs/}\n") == (
        ".readiness.yml:3:16: items.runbooks.evidence.file: unknown rule kind 'file'; expected one of "
        "files, contains, dependency, ci, all, any, not (did you mean 'files'?)"
    )
    assert error_of(
        "items:\n  runbooks:\n    evidence:\n      contains: {files: '*.py', pattern: '(?=x)'}\n"
    ) == (
        ".readiness.yml:4:42: items.runbooks.evidence.contains.pattern: pattern is not valid RE2 syntax "
        "(invalid perl operator: (?=); RE2 runs in linear time and does not support lookaround "
        "((?=, (?!, (?<=, (?<!) or backreferences (\\1)"
    )


def test_ignore_hides_paths_from_every_rule() -> None:
    config = parse("ignore: [checklists/, 'tests/**/fixtures/', '*.snap']\n")
    snapshot = RepoSnapshot(
        paths=("checklists/a.yaml", "tests/cli/fixtures/Dockerfile", "x/y.snap", "Dockerfile")
    )
    assert apply_ignore(config, snapshot).paths == ("Dockerfile",)
    assert apply_ignore(parse(""), snapshot) is snapshot
    assert parse("ignore: vendor/\n").ignore == ("vendor/",)


def test_vendored_dependencies_are_left_out_unless_asked_for() -> None:
    paths = (
        "Dockerfile",
        "go.mod",
        "vendor/github.com/acme/lib/SECURITY.md",
        "web/node_modules/left-pad/Dockerfile",
        "tools/.venv/lib/python3.11/site-packages/x/test_x.py",
        "third_party/re2/BUILD",
        "docs/vendoring.md",  # a name that only starts like one
        "src/myvendor/app.go",
    )
    snapshot = RepoSnapshot(paths=paths)
    assert apply_ignore(parse(""), snapshot).paths == (
        "Dockerfile",
        "go.mod",
        "docs/vendoring.md",
        "src/myvendor/app.go",
    )
    assert apply_ignore(parse("ignore_vendored: false\n"), snapshot) is snapshot
    both = parse("ignore: [docs/]\n")
    assert apply_ignore(both, snapshot).paths == ("Dockerfile", "go.mod", "src/myvendor/app.go")
    assert error_of("ignore_vendored: sometimes\n").startswith(".readiness.yml:1:18: ignore_vendored:")


def test_ignore_gives_the_same_paths_with_and_without_hyperscan(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from bot.core import pathscan

    rng = random.Random(5)
    words = ["docs", "tests", "fixtures", "src", "gen", "a.snap", "x.py", "README.md", "build"]
    paths = tuple(
        sorted({"/".join(rng.choice(words) for _ in range(rng.randint(1, 5))) for _ in range(3000)})
    )
    paths += ("vendor/x/README.md", "a/node_modules/b/x.py", "src/myvendor/x.py")
    ignore = "ignore: ['tests/**/fixtures/', '*.snap', 'gen/', build, '/docs/*.md']\n"
    for vendored in (True, False):
        config = parse(ignore + f"ignore_vendored: {str(vendored).lower()}\n")
        answers = []
        for enabled in (True, False):
            monkeypatch.setattr(pathscan, "enabled", enabled)
            answers.append(apply_ignore(config, RepoSnapshot(paths=paths)).paths)
        assert answers[0] == answers[1] and 0 < len(answers[0]) < len(paths)
        assert ("vendor/x/README.md" in answers[0]) is not vendored and "src/myvendor/x.py" in answers[0]
