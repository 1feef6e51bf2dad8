"""pydantic's validation errors for `.readiness.yml`, reworded for a person editing YAML.

One error is reported: the first in file order, with line, column, key path, what was expected
and, for a misspelled key, id or time zone, the closest valid spelling.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from pydantic import ValidationError

from bot.core import yamlload
from bot.core.errors import ConfigError
from bot.core.yamlload import suggest_id

_PLAIN = {
    "string_type": "expected a string",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "bool_type": "expected true or false",
}


def translate(
    exc: ValidationError,
    *,
    filename: str,
    positions: yamlload.Positions,
    keys_at: Callable[[tuple[str | int, ...]], list[str]],
) -> ConfigError:
    """The first problem in file order, worded for a person editing YAML."""
    errors = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        on_key = kind == "extra_forbidden"
        where = loc
        if loc[-1:] == ("[key]",):  # a mapping key of the wrong type, e.g. `items: {1: ...}`
            where, on_key = loc[:-1], True
            loc = (*loc[:-2], str(loc[-2]))
            message, suggestion = "keys here must be strings", None
        elif loc[:1] == ("checklists",) and len(loc) == 2 and kind in ("model_type", "model_attributes_type"):
            message = "expected a checklist id, or a mapping with `id` or `path`"
            suggestion = None
        elif kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = keys_at(loc[:-1])
            message = f"unknown key '{key}'; expected one of: {', '.join(allowed)}"
            suggestion = suggest_id(key, allowed)
        elif kind in ("literal_error", "enum"):
            expected = error.get("ctx", {}).get("expected", "")
            choices = re.findall(r"'([^']*)'", expected)
            expected = expected.replace("False", "false")
            if len(choices) > 2:
                expected = expected.replace(" or ", ", or ")
            message = f"expected {expected}, got {_show(error['input'])}"
            suggestion = suggest_id(str(error["input"]), choices) if isinstance(error["input"], str) else None
        elif kind == "timezone":
            message = error["msg"]
            zone = str(error["input"])
            suggestion = _suggest_zone(zone)
        else:
            message = _PLAIN.get(kind, error["msg"])
            suggestion = None
        line, column = positions.lookup(where, value=not on_key)
        errors.append((line or 0, column or 0, loc, message, suggestion))
    line, column, loc, message, suggestion = min(errors, key=lambda e: (e[0], e[1]))
    return ConfigError(
        filename, message, line or None, column or None, yamlload.format_path(loc) or None, suggestion
    )


def _show(value: Any) -> str:
    """A value as it was written in YAML: `true`, `null`, `'text'`, `[a, b]`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a mapping"
    return repr(value)


def _suggest_zone(zone: str) -> str | None:
    """Time zone names differ mostly in case and small typos; a loose match would mislead."""
    zones = sorted(available_timezones())
    by_case = {z.lower(): z for z in zones}
    if zone.lower() in by_case:
        return by_case[zone.lower()]
    close = difflib.get_close_matches(zone, zones, n=1, cutoff=0.8)
    return close[0] if close else None
