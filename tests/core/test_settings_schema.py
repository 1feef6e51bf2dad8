"""`readiness schema` and the `.readiness.yml` parser agree: same config in, same verdict out.

An editor validating against the schema must neither flag a file the bot accepts nor pass one the
bot rejects. The property test generates configs (valid and invalid, over every documented form)
and hands the same YAML text to both.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from bot.core import settings as config_settings
from bot.core import yamlload
from bot.core.errors import ConfigError
from bot.resources import load_shipped

SHIPPED = sorted(load_shipped())
ZONES = zoneinfo.available_timezones()
SCHEMA = config_settings.config_json_schema(shipped_ids=SHIPPED, timezones=ZONES)
VALIDATOR = Draft202012Validator(SCHEMA)


def loader_accepts(text: str) -> bool:
    try:
        config_settings.parse_config(text, shipped_ids=SHIPPED)
    except ConfigError:
        return False
    return True


def schema_accepts(text: str) -> bool:
    return VALIDATOR.is_valid(yamlload.load_yaml(text, filename=".readiness.yml").value)


def test_the_schema_is_a_valid_2020_12_schema_with_an_id() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"].startswith("https://")
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    "text",
    [
        "",  # an empty file: the defaults
        "# only a comment\n",
        "issues:\n",  # a key with no value: its default
        "issues:\n  labels: readiness\n",  # one label without a list
        "ignore: vendor/\n",  # one glob without a list
        "summary: off\n",
        "summary:\n  day: Friday\n  time: '9:30'\n  timezone: Europe/Berlin\n",
        "checklists:\n  - production-readiness\n  - {path: .github/readiness/team.yml}\n",
        "items:\n  production-readiness/load-testing: {skip: Batch job}\n",
        "items:\n  load-testing:\n    evidence: {any: [{files: k6/**}, {ci: load-test}]}\n",
    ],
)
def test_documented_forms_are_accepted_by_both(text: str) -> None:
    assert loader_accepts(text)
    assert schema_accepts(text)


@pytest.mark.parametrize(
    "text",
    [
        "checklists: []\n",
        "checklists: [prod-readiness]\n",
        "ignore: '!vendor/'\n",
        "ignore_vendored: 1\n",
        "extends: 0\n",
        "summary: {time: '24:00'}\n",
        "summary: {timezone: Mars/Olympus}\n",
        "issues: {labels: ['']}\n",
        "checklists: [{path: ../outside.yml}]\n",
        "items: {load-testing: {skip: ''}}\n",
        "items: {load-testing: {evidence: {files: a, ci: b}}}\n",
        "- a list\n",
    ],
)
def test_mistakes_are_rejected_by_both(text: str) -> None:
    assert not loader_accepts(text)
    assert not schema_accepts(text)


# ------------------------------------------------------------------------------- the generator

GLOBS = [
    "Dockerfile",
    "docs/**",
    "*.py",
    "src/**/test_*.py",
    "vendor/",
    "!vendor/",
    "",
    " a",
    "a ",
    "#x",
    "a\n",
]
glob = st.sampled_from(GLOBS)
globs = st.one_of(glob, st.lists(glob, max_size=3), st.just(5))
rules = st.recursive(
    st.one_of(
        st.builds(lambda g: {"files": g}, globs),
        st.builds(
            lambda g: {"ci": g},
            st.one_of(
                st.sampled_from(["test", "load-*", "", " "]),
                st.lists(st.sampled_from(["test", ""]), max_size=2),
            ),
        ),
        st.fixed_dictionaries(
            {"files": globs, "pattern": st.sampled_from(["healthz", "/ready", "", 5])},
            optional={
                "ignore_case": st.sampled_from([True, False, "yes", 1]),
                "max_files": st.sampled_from([1, 200, 10_000, 10_001, 0, True, "5"]),
                "max_bytes": st.sampled_from([1, 4_194_304, 4_194_305, -1]),
                "lines": st.just(3),
            },
        ).map(lambda body: {"contains": body}),
        st.sampled_from([{}, {"nope": "x"}, {"files": "a", "ci": "b"}, [], "files", None]),
    ),
    lambda inner: st.one_of(
        st.builds(lambda rs: {"all": rs}, st.lists(inner, max_size=2)),
        st.builds(lambda rs: {"any": rs}, st.lists(inner, max_size=2)),
        st.builds(lambda r: {"not": r}, inner),
    ),
    max_leaves=4,
)
ids = st.sampled_from([*SHIPPED, "prod-readiness", ""])
paths = st.sampled_from(
    [
        ".github/readiness/team.yml",
        "team.yaml",
        "team.json",
        "/abs.yml",
        "../up.yml",
        "a/../b.yml",
        "a\\b.yml",
        "",
        "a.yml\n",
        "..yml",
    ]
)
exclusions = st.one_of(
    st.lists(st.sampled_from(["build", "ops", ""]), max_size=2), st.just("build"), st.just([1])
)
choice = st.one_of(
    ids,
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(ids, st.none()),
            "path": st.one_of(paths, st.none()),
            "exclude_sections": exclusions,
            "exclude_items": exclusions,
            "exlude_items": st.just(["x"]),
        },
    ),
    st.just(5),
)


def _choice_key(value: Any) -> str:
    """What the parser treats as the same checklist: the schema cannot see a duplicate in two spellings."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value.get("path") is None:
        return value["id"]
    return repr(value)


item_keys = st.sampled_from(
    ["production-readiness/load-testing", "load-testing", "Load Testing", "a/b/c", "-x", "x-"]
)
override = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "skip": st.sampled_from(["Batch job with no traffic", "", "  ", True, None, 5]),
            "evidence": st.one_of(rules, st.none()),
            "reason": st.just("x"),
        },
    ),
    st.sampled_from(["skip", None, []]),
)
label = st.sampled_from(["readiness", "team/platform", "", "  ", "x" * 50, "x" * 51, 5, None])
labels = st.one_of(label, st.lists(label, max_size=3))
schedule = st.fixed_dictionaries(
    {},
    optional={
        "day": st.sampled_from(["monday", "Friday", "SUNDAY", "funday", "monday\n", 1, None]),
        "time": st.sampled_from(["09:00", "9:30", "23:59", "24:00", "09:60", "0900", "09:00\n", 930, None]),
        "timezone": st.sampled_from(
            ["UTC", "Europe/Berlin", "America/New_York", "Mars/Olympus", "", "europe/berlin", None]
        ),
        "hour": st.just(9),
    },
)
config = st.fixed_dictionaries(
    {},
    optional={
        "extends": st.sampled_from(["organization", False, True, "org", 0, None]),
        "checklists": st.one_of(
            st.none(), st.lists(choice, max_size=3, unique_by=_choice_key), st.just("production-readiness")
        ),
        "items": st.one_of(
            st.none(), st.dictionaries(item_keys, override, max_size=2), st.just(["load-testing"])
        ),
        "ignore": st.one_of(st.none(), globs),
        "ignore_vendored": st.sampled_from([True, False, 1, 0, "yes", "false", None]),
        "issues": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"labels": labels, "assignees": labels, "milestone": st.just("v1")}
            ),
            st.just("readiness"),
        ),
        "summary": st.one_of(
            st.sampled_from([None, "off", "on", True, False, 0, 1, "Off", "weekly"]), schedule
        ),
        "on_regression": st.sampled_from(["reopen", "untick", "keep", "Reopen", "close", 1, None]),
        "profile": st.sampled_from(["service", "library", "cli", "Library", "app", "", ["library"], 1, None]),
        "checklist": st.just(["production-readiness"]),
    },
)
documents = st.one_of(config, st.sampled_from([None, [], "checklists", 5]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example({"issues": None})
@example({"issues": {"labels": "readiness"}})
@example({"ignore": "vendor/"})
@example({"profile": "library"})
@example({"profile": "Library"})
@example(None)
def test_schema_and_loader_give_the_same_verdict(document: Any) -> None:
    text = "" if document is None else yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    assert schema_accepts(text) == loader_accepts(text), text
