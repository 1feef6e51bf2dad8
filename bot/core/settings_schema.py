"""The JSON Schema of `.readiness.yml` that editors validate against (`readiness schema`).

pydantic derives the descriptions and defaults from the model; this rewrites the shapes so the
schema accepts exactly the forms the parser accepts: an empty file, a key with no value (the
default), a single string where a list is expected (`labels: readiness`, `ignore: vendor/`), bare
checklist ids, `summary: off`/`on`, any-case day names, and the evidence rule syntax. What JSON
Schema cannot say (a glob or RE2 pattern that does not compile, a checklist listed twice in two
spellings, item keys naming no item, whole floats like `5.0` for integers) `readiness validate` checks.
tests/core/test_settings_schema.py feeds generated configs to both and requires the same verdict.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

SCHEMA_ID = "https://github.com/readiness-bot/readiness-bot/schemas/readiness-config.schema.json"
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NULL: dict[str, Any] = {"type": "null"}
# A glob: not empty, no surrounding whitespace, not negated ('!') nor a gitignore comment ('#').
_GLOB: dict[str, Any] = {"type": "string", "pattern": r"^(?![!#])\S(?:[\s\S]*\S)?(?![\s\S])"}
# A non-empty string after stripping whitespace (a CI job name glob, a skip reason, a label).
_WORDS = r"\S"
# `@login` or `@org/team` (bot.core.codeowners.is_owner), surrounding spaces allowed.
_OWNER = r"^\s*@[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*\s*(?![\s\S])"
# Relative, inside the repository (no leading '/', no '..' segment, no backslash), .yml/.yaml.
# `(?![\s\S])` is the true end of the text: `$` also matches before a final newline.
_TEMPLATE_PATH = r"^(?!/)(?![\s\S]*\\)(?!(?:[\s\S]*/)?\.\.(?:/|(?![\s\S])))[\s\S]*\.ya?ml(?![\s\S])"

_RULE_SCHEMA: dict[str, Any] = {
    "description": "An evidence rule: a mapping with exactly one key (see docs/templates.md).",
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "files": {"$ref": "#/$defs/Globs", "description": "Passes when any tracked path matches a glob."},
        "contains": {
            "type": "object",
            "description": "Passes when a file matching `files` contains `pattern` (RE2 syntax).",
            "required": ["files", "pattern"],
            "additionalProperties": False,
            "properties": {
                "files": {"$ref": "#/$defs/Globs"},
                "pattern": {"type": "string", "minLength": 1},
                "ignore_case": {"type": "boolean", "default": False},
                "max_files": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1_000},
                "max_bytes": {"type": "integer", "minimum": 1, "maximum": 4_194_304, "default": 262144},
                "scope": {"enum": ["code", "tests", "docs", "any"], "default": "code"},
            },
        },
        "dependency": {
            "type": "object",
            "description": "Passes when a manifest or lock file of `ecosystem` declares one of `name`.",
            "required": ["ecosystem", "name"],
            "additionalProperties": False,
            "properties": {
                "ecosystem": {
                    "enum": [
                        "pypi",
                        "npm",
                        "rubygems",
                        "hex",
                        "go",
                        "cargo",
                        "maven",
                        "packagist",
                        "nuget",
                        "any",
                    ]
                },
                "name": {"$ref": "#/$defs/Globs"},
                "scope": {"enum": ["code", "tests", "docs", "any"], "default": "code"},
            },
        },
        "ci": {
            "description": "Passes when a matching CI job succeeded (job name globs).",
            "anyOf": [
                {"type": "string", "pattern": _WORDS},
                {"type": "array", "items": {"type": "string", "pattern": _WORDS}, "minItems": 1},
            ],
        },
        "all": {"type": "array", "items": {"$ref": "#/$defs/Rule"}, "minItems": 1},
        "any": {"type": "array", "items": {"$ref": "#/$defs/Rule"}, "minItems": 1},
        "not": {"$ref": "#/$defs/Rule"},
    },
    "additionalProperties": False,
}
_GLOBS_SCHEMA: dict[str, Any] = {
    "anyOf": [_GLOB, {"type": "array", "items": _GLOB, "minItems": 1}],
    "description": "A gitignore-style glob or a list of them.",
}


def _day_pattern() -> str:
    """Day names in any case (the parser lower-cases them), without JSON Schema's missing `i` flag."""
    spelled = ("".join(f"[{c.upper()}{c}]" for c in day) for day in _DAYS)
    return "^(?:" + "|".join(spelled) + r")(?![\s\S])"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """A top-level key written with no value (`issues:`) means its default."""
    doc: dict[str, Any] = {k: schema.pop(k) for k in ("description", "default", "title") if k in schema}
    return {**doc, "anyOf": [schema, _NULL]}


def _one_or_many(item: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "items": item}]}


def refine(
    schema: dict[str, Any],
    *,
    shipped_ids: Collection[str],
    item_key: str,
    time: str,
    timezones: Collection[str] = (),
) -> dict[str, Any]:
    """Reshape pydantic's schema into what the parser accepts (see the module docstring)."""
    defs = schema.setdefault("$defs", {})
    props = schema["properties"]
    ids = sorted(shipped_ids)
    shipped_id: dict[str, Any] = {"type": "string", "description": "A shipped checklist id."}
    if ids:
        shipped_id["enum"] = ids

    choice = defs["ChecklistChoice"]
    cprops = choice["properties"]
    cprops["id"] = {"description": cprops["id"]["description"], "anyOf": [shipped_id, _NULL]}
    cprops["path"] = {
        "description": cprops["path"]["description"],
        "anyOf": [{"type": "string", "pattern": _TEMPLATE_PATH}, _NULL],
    }
    choice["oneOf"] = [  # exactly one of them given (a null counts as not given)
        {"required": ["id"], "properties": {"id": {"type": "string"}}},
        {"required": ["path"], "properties": {"path": {"type": "string"}}},
    ]
    checklists = props["checklists"]
    checklists.pop("default", None)
    checklists["items"] = {"anyOf": [shipped_id, {"$ref": "#/$defs/ChecklistChoice"}]}
    checklists["minItems"] = 1

    props["items"]["propertyNames"] = {"pattern": item_key}
    override = defs["ItemOverride"]
    oprops = override["properties"]
    oprops["skip"] = {"type": "string", "pattern": _WORDS, "description": oprops["skip"]["description"]}
    oprops["evidence"] = {
        "description": oprops["evidence"]["description"],
        "anyOf": [{"$ref": "#/$defs/Rule"}, _NULL],
    }
    owner: dict[str, Any] = {"type": "string", "pattern": _OWNER}
    override["anyOf"] = [
        {"required": ["skip"]},
        {"required": ["evidence"], "properties": {"evidence": {"type": "object"}}},
        {"required": ["ttl"]},
        {"required": ["mandatory"], "properties": {"mandatory": {"const": True}}},
        {"required": ["approvers"], "properties": {"approvers": {"minItems": 1, "minLength": 1}}},
    ]
    approvers = oprops["approvers"]
    approvers.pop("type", None)
    approvers.pop("items", None)
    approvers.update(_one_or_many(owner))
    owners = props["owners"]
    owners["propertyNames"] = {"pattern": item_key}
    owners["additionalProperties"] = {"anyOf": [owner, {"type": "array", "items": owner, "minItems": 1}]}
    defs["Rule"] = _RULE_SCHEMA
    defs["Globs"] = _GLOBS_SCHEMA

    ignore = props["ignore"]
    ignore.pop("type")
    ignore.pop("items")
    ignore.update(_one_or_many(_GLOB))

    label: dict[str, Any] = {"type": "string", "pattern": _WORDS, "maxLength": 50}
    for name in ("labels", "assignees"):
        field = defs["IssueSettings"]["properties"][name]
        field.pop("type")
        field.pop("items")
        field.update(_one_or_many(label))

    summary = props["summary"]
    summary["anyOf"] = [
        {"$ref": "#/$defs/SummarySchedule"},
        {"enum": ["off", False], "description": "No weekly summary."},
        {"enum": ["on", True], "description": "The default schedule."},
    ]
    sched = defs["SummarySchedule"]["properties"]
    sched["day"].pop("enum")
    sched["day"]["pattern"] = _day_pattern()
    sched["day"]["examples"] = list(_DAYS)
    sched["time"]["pattern"] = time
    sched["timezone"]["examples"] = ["UTC", "Europe/Berlin", "America/New_York"]
    if timezones:
        sched["timezone"]["enum"] = sorted(timezones)

    extends = props["extends"]
    extends.pop("anyOf", None)
    extends.pop("type", None)
    extends["enum"] = ["organization", False]

    for name in list(props):
        props[name] = _nullable(props[name])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "type": ["object", "null"],  # an empty file is the defaults
    }
