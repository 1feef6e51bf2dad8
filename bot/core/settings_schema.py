"""The JSON Schema of `.readiness.yml` that editors validate against (`readiness schema`).

pydantic derives most of it from the model; this adds what only the parser knows: the shipped ids,
the string-or-mapping checklist entries, `summary: off`, and the evidence rule syntax.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

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
                "pattern": {"type": "string"},
                "ignore_case": {"type": "boolean", "default": False},
                "max_files": {"type": "integer", "minimum": 1, "default": 200},
                "max_bytes": {"type": "integer", "minimum": 1, "default": 262144},
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
        "ci": {"$ref": "#/$defs/Globs", "description": "Passes when a matching CI job succeeded."},
        "all": {"type": "array", "items": {"$ref": "#/$defs/Rule"}, "minItems": 1},
        "any": {"type": "array", "items": {"$ref": "#/$defs/Rule"}, "minItems": 1},
        "not": {"$ref": "#/$defs/Rule"},
    },
    "additionalProperties": False,
}
_GLOBS_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
    "description": "A gitignore-style glob or a list of them.",
}


def refine(
    schema: dict[str, Any], *, shipped_ids: Collection[str], item_key: str, time: str
) -> dict[str, Any]:
    """Add to pydantic's schema what the model cannot say: id enums, one-of forms, rule syntax."""
    defs = schema.setdefault("$defs", {})
    ids = sorted(shipped_ids)
    shipped_id: dict[str, Any] = {"type": "string", "description": "A shipped checklist id."}
    if ids:
        shipped_id["enum"] = ids
    choice = defs["ChecklistChoice"]
    choice["properties"]["id"] = shipped_id
    choice["properties"]["path"] = {
        "type": "string",
        "pattern": r"^[^/\\].*\.ya?ml$",
        "description": choice["properties"]["path"].get("description", ""),
    }
    choice["oneOf"] = [{"required": ["id"]}, {"required": ["path"]}]
    schema["properties"]["checklists"]["items"] = {"anyOf": [shipped_id, {"$ref": "#/$defs/ChecklistChoice"}]}
    schema["properties"]["checklists"]["minItems"] = 1
    schema["properties"]["checklists"].pop("default", None)
    schema["properties"]["items"]["propertyNames"] = {"pattern": item_key}
    override = defs["ItemOverride"]
    override["properties"]["skip"] = {
        "type": "string",
        "minLength": 1,
        "description": override["properties"]["skip"]["description"],
    }
    override["properties"]["evidence"] = {
        "$ref": "#/$defs/Rule",
        "description": override["properties"]["evidence"]["description"],
    }
    override["anyOf"] = [{"required": ["skip"]}, {"required": ["evidence"]}]
    defs["Rule"] = _RULE_SCHEMA
    defs["Globs"] = _GLOBS_SCHEMA
    summary = schema["properties"]["summary"]
    summary.pop("anyOf", None)
    summary["anyOf"] = [{"$ref": "#/$defs/SummarySchedule"}, {"const": "off"}, {"const": False}]
    defs["SummarySchedule"]["properties"]["time"]["pattern"] = time
    defs["SummarySchedule"]["properties"]["timezone"]["examples"] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
    ]
    extends = schema["properties"]["extends"]
    extends.pop("anyOf", None)
    extends.pop("enum", None)
    extends.pop("type", None)
    extends["enum"] = ["organization", False]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
