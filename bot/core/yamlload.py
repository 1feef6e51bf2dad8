"""Safe YAML loading for files users write (templates, .readiness.yml), with positions for errors.

We build plain Python data straight from the parser's event stream instead of PyYAML's composer
and constructor, because that is the one place where every abuse can be bounded: only plain YAML
tags, no duplicate keys, a nesting limit (libyaml's C composer segfaults on deep nesting), and a
cap on alias expansion ("billion laughs" — shared objects are cheap to build but explode in
anything that walks them, such as pydantic or a JSON dump).

Scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 default: `off`, `yes`, `no` stay
strings, `09:00` stays a string (YAML 1.1 reads it as the integer 540), dates stay strings.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev

from bot.core.errors import InputError

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 1_048_576  # the one size limit on a file read from a repository (1 MiB)
READ_CAP = MAX_FILE_BYTES + 1  # readers fetch one byte more, so a loader can tell "too big" apart
MAX_DEPTH = 100
MAX_ALIAS_NODES = 10_000

Path = tuple[str | int, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")} | {"!"}


def suggest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The closest choice to a misspelled word, for "did you mean" hints."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def suggest_id(word: str, choices: Collection[str]) -> str | None:
    """The closest spelling, or the one choice that starts with what was typed (`prod`)."""
    close = suggest(word, list(choices))
    if close is None and word:
        starting = [c for c in choices if c.startswith(word)]
        close = starting[0] if len(starting) == 1 else None
    return close


def format_path(loc: Iterable[str | int]) -> str:
    """Render a key path the way users read it: `checklists[1].id`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True)
class Positions:
    """1-based (line, column) of every key path; unknown paths fall back to the nearest parent."""

    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def lookup(self, path: Iterable[str | int], *, value: bool = False) -> tuple[int, int]:
        """Where the key (or, with value=True, the value) at `path` is written."""
        table = self.values if value else self.keys
        parts = tuple(path)
        for end in range(len(parts), -1, -1):
            hit = table.get(parts[:end])
            if hit is not None:
                return hit
        return (1, 1)

    def __call__(self, path: Iterable[str | int]) -> tuple[int | None, int | None]:
        return self.lookup(path)


@dataclass(frozen=True)
class Node:
    """A loaded document: plain data plus where each part of it was written."""

    value: Any
    positions: Positions
    filename: str

    def to_python(self) -> Any:
        return self.value

    def error(
        self,
        path: Iterable[str | int],
        message: str,
        *,
        suggestion: str | None = None,
        value: bool = False,
        error: type[InputError] = InputError,
    ) -> InputError:
        """An error pointing at `path` in this document (not raised, so callers can `raise` it)."""
        parts = tuple(path)
        line, column = self.positions.lookup(parts, value=value)
        return error(
            file=self.filename,
            message=message,
            line=line,
            column=column,
            path=format_path(parts) or None,
            suggestion=suggestion,
        )


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Builder:
    """Turns parser events into Python data, recording positions and enforcing the limits."""

    def __init__(self, events: Iterator[ev.Event], filename: str, error: type[InputError]) -> None:
        self.events = events
        self.filename = filename
        self.error = error
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.alias_nodes = 0
        self.positions = Positions()

    def fail(self, mark: Any, message: str, path: Path = ()) -> InputError:
        line, column = _pos(mark) if mark is not None else (None, None)
        return self.error(
            file=self.filename, message=message, line=line, column=column, path=format_path(path) or None
        )

    def document(self) -> Any:
        first = next(self.events)  # StreamStartEvent
        assert isinstance(first, ev.StreamStartEvent)
        event = next(self.events)
        if isinstance(event, ev.StreamEndEvent):
            return None
        value, _ = self.node(next(self.events), (), 0)
        next(self.events)  # DocumentEndEvent
        extra = next(self.events)
        if not isinstance(extra, ev.StreamEndEvent):
            raise self.fail(
                extra.start_mark, "found a second YAML document ('---'); this file must hold exactly one"
            )
        return value

    def node(self, event: ev.Event, path: Path, depth: int) -> tuple[Any, int]:
        """Build one node; returns its value and how many nodes it stands for."""
        if depth > MAX_DEPTH:
            raise self.fail(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
        self.positions.values.setdefault(path, _pos(event.start_mark))
        if isinstance(event, ev.AliasEvent):
            if event.anchor not in self.anchors:
                raise self.fail(
                    event.start_mark,
                    f"alias '*{event.anchor}' is used before its anchor '&{event.anchor}' is complete "
                    "(undefined or recursive aliases are not allowed)",
                    path,
                )
            value, size = self.anchors[event.anchor]
            self.alias_nodes += size
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise self.fail(
                    event.start_mark,
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes (possible 'billion laughs' "
                    "attack); write the values out instead",
                    path,
                )
            return value, size
        if isinstance(event, ev.ScalarEvent):
            result: tuple[Any, int] = (self.scalar(event, path), 1)
        elif isinstance(event, ev.SequenceStartEvent):
            self.check_tag(event, f"{_TAG}seq", path)
            result = self.sequence(path, depth)
        elif isinstance(event, ev.MappingStartEvent):
            self.check_tag(event, f"{_TAG}map", path)
            result = self.mapping(event, path, depth)
        else:  # pragma: no cover - the parser guarantees a node event here
            raise self.fail(event.start_mark, f"unexpected {type(event).__name__}", path)
        if event.anchor is not None:
            self.anchors[event.anchor] = result
        return result

    def check_tag(self, event: ev.CollectionStartEvent, expected: str, path: Path) -> None:
        if event.tag not in (None, "!", expected):
            raise self.fail(event.start_mark, _tag_message(event.tag), path)

    def sequence(self, path: Path, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        size = 1
        while not isinstance(event := next(self.events), ev.SequenceEndEvent):
            item_path = (*path, len(items))
            self.positions.keys[item_path] = _pos(event.start_mark)
            value, n = self.node(event, item_path, depth + 1)
            items.append(value)
            size += n
        return items, size

    def mapping(self, start: ev.MappingStartEvent, path: Path, depth: int) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        seen: dict[Any, tuple[int, int]] = {}
        size = 1
        while not isinstance(event := next(self.events), ev.MappingEndEvent):
            if not isinstance(event, ev.ScalarEvent | ev.AliasEvent):
                raise self.fail(event.start_mark, "mapping keys must be plain scalars", path)
            key, _ = self.node(event, path, depth + 1)
            if isinstance(key, list | dict):
                raise self.fail(event.start_mark, "mapping keys must be plain scalars", path)
            if key is None:  # `~: 1` or `: 1`; a None key crashed code that expects text keys
                raise self.fail(
                    event.start_mark,
                    "empty or null ('~') mapping key; put the key in quotes if you mean it",
                    path,
                )
            if key == "<<" and isinstance(event, ev.ScalarEvent) and event.tag is None and event.implicit[0]:
                raise self.fail(event.start_mark, "merge keys ('<<') are not supported", path)
            key_path = (*path, key)
            if key in seen:
                first = seen[key][0]
                raise self.fail(
                    event.start_mark, f"duplicate key '{key}' (first defined on line {first})", key_path
                )
            seen[key] = _pos(event.start_mark)
            self.positions.keys[key_path] = seen[key]
            value, n = self.node(next(self.events), key_path, depth + 1)
            result[key] = value
            size += n
        return result, size

    def scalar(self, event: ev.ScalarEvent, path: Path) -> Any:
        text = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0] or tag == "!":  # quoted or explicitly non-specific
                return text
            tag = _resolve(text)
        if tag not in _SCALAR_TAGS:
            raise self.fail(event.start_mark, _tag_message(tag), path)
        try:
            return _construct(tag, text)
        except ValueError:
            kind = tag.removeprefix(_TAG)
            raise self.fail(event.start_mark, f"'{text}' is not a valid {kind}", path) from None


def _tag_message(tag: str | None) -> str:
    if tag and tag.startswith(f"{_TAG}python/"):
        name = tag.removeprefix(_TAG)
        return f"Python-specific tag '{name}' is not allowed: only plain YAML data is accepted"
    return f"unsupported YAML tag '{tag}': only plain YAML data (strings, numbers, booleans, lists, mappings)"


_MAYBE_TYPED = frozenset("~nNtTfF+-.0123456789")  # what a null, bool or number starts with


def _resolve(text: str) -> str:
    if text and text[0] not in _MAYBE_TYPED:  # most scalars: prose, ids, globs
        return _TAG + "str"
    for pattern, name in ((_NULL, "null"), (_BOOL, "bool"), (_INT, "int"), (_FLOAT, "float")):
        if pattern.match(text):
            return _TAG + name
    return _TAG + "str"


def _construct(tag: str, text: str) -> Any:
    kind = tag.removeprefix(_TAG)
    if kind == "null":
        if not _NULL.match(text):
            raise ValueError(text)
        return None
    if kind == "bool":
        if not _BOOL.match(text):
            raise ValueError(text)
        return text.lower() == "true"
    if kind == "int":
        body = text.lstrip("+-")
        sign = -1 if text.startswith("-") else 1
        base = 16 if body[:2] == "0x" else 8 if body[:2] == "0o" else 10
        return sign * int(body[2:] if base != 10 else body, base)
    if kind == "float":
        low = text.lower()
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        if low == ".nan":
            return math.nan
        return float(text)
    return text


def _decode(data: str | bytes, filename: str, max_bytes: int, error: type[InputError]) -> str:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        size = f"more than {max_bytes}" if len(raw) == max_bytes + 1 else str(len(raw))  # a capped read
        raise error(file=filename, message=f"file is {size} bytes; the limit is {max_bytes} bytes")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(file=filename, line=line, column=column, message="file is not valid UTF-8 text") from None


def load_yaml(
    text: str | bytes,
    *,
    filename: str,
    max_bytes: int = MAX_FILE_BYTES,
    error: type[InputError] = InputError,
) -> Node:
    """Parse one YAML document safely; every problem becomes `error` with file, line and column."""
    source = _decode(text, filename, max_bytes, error)
    builder = _Builder(iter(yaml.parse(source, Loader=_Parser)), filename, error)
    try:
        value = builder.document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or "invalid YAML"
        if exc.context:
            message = f"{message} ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not mark:
                message += f" on line {exc.context_mark.line + 1}"
            message += ")"
        if "mapping values are not allowed" in message:
            message += "; put the value in quotes if it contains ': '"
        raise builder.fail(mark, f"YAML syntax error: {message}") from None
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = source.count("\n", 0, exc.position) + 1
        column = exc.position - (source.rfind("\n", 0, exc.position) + 1) + 1
        raise error(
            file=filename,
            line=line,
            column=column,
            message=f"control character U+{code:04X} is not allowed in YAML (write it as an escape in "
            "a double-quoted string)",
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error above carries a mark
        raise error(file=filename, message=f"YAML error: {exc}") from None
    return Node(value=value, positions=builder.positions, filename=filename)
