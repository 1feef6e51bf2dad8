"""Checklist templates: the data types and a pure parser that points at the exact offending line.

The parser takes text, never a path, so the bot can parse templates read through an API the same
way the CLI parses files on disk; the one function that reads a directory sits at the bottom.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.applicability import Condition, Facts, parse_condition, reason_not_applicable
from bot.core.codeowners import OWNER_EXPECTED, is_owner
from bot.core.durations import TTL_EXPECTED, parse_ttl
from bot.core.errors import InputError, TemplateError
from bot.core.rule_syntax import Contains, Rule, compile_pattern, parse_rule, walk_rule
from bot.core.yamlload import MAX_FILE_BYTES, Node, load_yaml, suggest

MAX_TEMPLATE_PROGRAM = 200_000  # RE2 instructions for all of a template's patterns together
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TEMPLATE_KEYS = ("id", "title", "version", "description", "source", "sections")
SECTION_KEYS = ("id", "title", "owner", "items", "applies_when")
ITEM_KEYS = (
    "id",
    "title",
    "why",
    "description",
    "source",
    "evidence",
    "manual",
    "ttl",
    "owner",
    "applies_when",
)
SOURCE_KEYS = ("section", "lines")
MAX_TEMPLATE_BYTES = MAX_FILE_BYTES


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    title: str
    why: str
    description: str | None = None
    rule: Rule | None = None
    source_section: str | None = None
    source_lines: tuple[int, ...] = ()
    ttl_days: int | None = None  # manual items: a person's tick expires after this many days
    owners: tuple[str, ...] = ()  # `owner:` ("@org/sre" or a list), see bot.core.owners
    applies_when: Condition | None = None  # None: it applies to every repository

    @property
    def manual(self) -> bool:
        """A person ticks or skips it: the repository cannot evidence it."""
        return self.rule is None


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    items: tuple[Item, ...]
    owners: tuple[str, ...] = ()
    applies_when: Condition | None = None  # covers every item of the section


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    title: str
    version: int
    description: str | None
    source: str | None
    sections: tuple[Section, ...]
    origin: str  # the file name it was loaded from

    def items(self) -> Iterator[tuple[Section, Item]]:
        for section in self.sections:
            for item in section.items:
                yield section, item

    def item(self, item_id: str) -> Item | None:
        return next((item for _, item in self.items() if item.id == item_id), None)


Path_ = tuple[str | int, ...]


class _Reader:
    """Typed access to the loaded document that raises TemplateError pointing at the right place."""

    def __init__(self, doc: Node) -> None:
        self.doc = doc

    def fail(
        self, path: Path_, message: str, *, value: bool = True, suggestion: str | None = None
    ) -> InputError:
        return self.doc.error(path, message, value=value, suggestion=suggestion, error=TemplateError)

    def mapping(self, data: object, path: Path_, keys: tuple[str, ...], what: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(path, f"expected {what} (a mapping with {', '.join(keys)}), got {_kind(data)}")
        for key in data:
            if key not in keys:
                raise self.fail(
                    (*path, key),
                    f"unknown key '{key}' in {what}; expected one of {', '.join(keys)}",
                    value=False,
                    suggestion=suggest(str(key), keys),
                )
        return data

    def text(self, data: dict[str, Any], path: Path_, key: str, *, required: bool = True) -> str | None:
        if key not in data:
            if required:
                raise self.fail(path, f"missing required key '{key}'", value=True)
            return None
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail((*path, key), f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def slug(self, data: dict[str, Any], path: Path_) -> str:
        value = self.text(data, path, "id")
        assert value is not None
        if not SLUG.match(value):
            raise self.fail(
                (*path, "id"), f"'{value}' is not a valid id: use lowercase letters, digits and '-'"
            )
        return value

    def items_list(self, data: dict[str, Any], path: Path_, key: str) -> list[Any]:
        if key not in data:
            raise self.fail(path, f"missing required key '{key}'", value=True)
        value = data[key]
        if not isinstance(value, list) or not value:
            raise self.fail((*path, key), f"expected a non-empty list, got {_kind(value)}")
        return value


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict | list):
        return ("an empty " if not value else "a ") + ("mapping" if isinstance(value, dict) else "list")
    return f"{type(value).__name__} {value!r}"


def parse_template(text: str | bytes, *, filename: str) -> Template:
    """Parse and validate one template; the first problem is raised as TemplateError."""
    doc = load_yaml(text, filename=filename, max_bytes=MAX_TEMPLATE_BYTES, error=TemplateError)
    r = _Reader(doc)
    top = r.mapping(doc.value, (), TEMPLATE_KEYS, "a template")
    template_id = r.slug(top, ())
    title = r.text(top, (), "title")
    version = top.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise r.fail(("version",), f"expected a whole number >= 1, got {_kind(version)}")
    description = r.text(top, (), "description", required=False)
    source = r.text(top, (), "source", required=False)
    sections: list[Section] = []
    section_lines: dict[str, int] = {}
    item_lines: dict[str, int] = {}
    for s_index, raw_section in enumerate(r.items_list(top, (), "sections")):
        s_path: Path_ = ("sections", s_index)
        section = r.mapping(raw_section, s_path, SECTION_KEYS, "a section")
        section_id = r.slug(section, s_path)
        _unique(r, section_lines, section_id, (*s_path, "id"), "section id")
        items = tuple(
            _item(r, raw_item, (*s_path, "items", i_index), item_lines)
            for i_index, raw_item in enumerate(r.items_list(section, s_path, "items"))
        )
        heading = r.text(section, s_path, "title") or ""
        sections.append(
            Section(
                section_id,
                heading,
                items,
                owners=_owners(r, section, s_path),
                applies_when=_applies_when(r, section, s_path),
            )
        )
    _check_program_size(r, sections)
    return Template(template_id, title or "", version, description, source, tuple(sections), filename)


def _check_program_size(r: _Reader, sections: list[Section]) -> None:
    """Bound what validating and evaluating the template's patterns costs: 300 items with
    `\\pL{446}` each took 1.4 GB and 108 s; the item that crosses the budget is named."""
    total = 0
    seen: set[tuple[str, bool]] = set()
    for s_index, section in enumerate(sections):
        for i_index, item in enumerate(section.items):
            for node in walk_rule(item.rule) if item.rule is not None else ():
                if isinstance(node, Contains) and (node.pattern, node.ignore_case) not in seen:
                    seen.add((node.pattern, node.ignore_case))
                    total += compile_pattern(node.pattern, node.ignore_case).programsize
                    if total > MAX_TEMPLATE_PROGRAM:
                        raise r.fail(
                            ("sections", s_index, "items", i_index, "evidence"),
                            f"the template's patterns compile to more than {MAX_TEMPLATE_PROGRAM} RE2 "
                            "instructions together; use fewer or shorter patterns",
                        )


def _unique(r: _Reader, seen: dict[str, int], value: str, path: Path_, what: str) -> None:
    line = r.doc.positions.lookup(path, value=True)[0]
    if value in seen:
        raise r.fail(path, f"duplicate {what} '{value}' (also on line {seen[value]})")
    seen[value] = line


def _item(r: _Reader, data: object, path: Path_, seen: dict[str, int]) -> Item:
    item = r.mapping(data, path, ITEM_KEYS, "an item")
    item_id = r.slug(item, path)
    _unique(r, seen, item_id, (*path, "id"), "item id")
    manual = item.get("manual", False)
    if not isinstance(manual, bool):
        raise r.fail((*path, "manual"), f"expected true or false, got {_kind(manual)}")
    has_evidence = "evidence" in item
    if manual and has_evidence:
        raise r.fail(
            (*path, "manual"), "an item has either `evidence` or `manual: true`, not both", value=False
        )
    if not manual and not has_evidence:
        raise r.fail(path, "an item needs `evidence` (a rule) or `manual: true`", value=True)
    rule = None
    if has_evidence:
        rule = parse_rule(
            item["evidence"],
            where=r.doc.positions,
            filename=r.doc.filename,
            path=(*path, "evidence"),
            error=TemplateError,
        )
    section_name, lines = _source(r, item, path)
    ttl = None
    if "ttl" in item:
        if not manual:
            raise r.fail((*path, "ttl"), "`ttl` re-attests a manual item; this item has `evidence`")
        ttl = parse_ttl(item["ttl"])
        if ttl is None:
            raise r.fail((*path, "ttl"), TTL_EXPECTED, value=True)
    return Item(
        id=item_id,
        title=r.text(item, path, "title") or "",
        why=r.text(item, path, "why") or "",
        description=r.text(item, path, "description", required=False),
        rule=rule,
        source_section=section_name,
        source_lines=lines,
        ttl_days=ttl,
        applies_when=_applies_when(r, item, path),
        owners=_owners(r, item, path),
    )


def _applies_when(r: _Reader, data: dict[str, Any], path: Path_) -> Condition | None:
    if "applies_when" not in data:
        return None
    at = (*path, "applies_when")

    def fail(where: tuple[str | int, ...], message: str, suggestion: str | None, key: bool) -> InputError:
        return r.fail((*at, *where), message, value=not key, suggestion=suggestion)

    return parse_condition(data["applies_when"], fail)


def _owners(r: _Reader, data: dict[str, Any], path: Path_) -> tuple[str, ...]:
    """`owner: "@org/sre"` or a list of them."""
    if "owner" not in data:
        return ()
    at = (*path, "owner")
    value = data["owner"]
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise r.fail(at, f"{OWNER_EXPECTED}, got {_kind(value)}")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not is_owner(name.strip()):
            where = at if isinstance(value, str) else (*at, i)
            raise r.fail(where, f"{OWNER_EXPECTED}, got {_kind(name)}")
    return tuple(dict.fromkeys(n.strip() for n in names))


def _source(r: _Reader, item: dict[str, Any], path: Path_) -> tuple[str | None, tuple[int, ...]]:
    if "source" not in item:
        return None, ()
    at = (*path, "source")
    source = r.mapping(item["source"], at, SOURCE_KEYS, "an item source")
    section = r.text(source, at, "section", required=False)
    lines = source.get("lines", [])
    if not isinstance(lines, list):
        raise r.fail((*at, "lines"), f"expected a list of line numbers (1-based), got {_kind(lines)}")
    for i, n in enumerate(lines):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise r.fail((*at, "lines", i), f"expected a line number (1 or more), got {_kind(n)}")
    return section, tuple(lines)


# ---------------------------------------------------------------- the edge: reading files


def load_templates(directory: Path) -> dict[str, Template]:
    """Parse every `*.yaml`/`*.yml` in a directory; template ids must be unique across files."""
    templates: dict[str, Template] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        data = path.read_bytes()
        template = parse_template(data, filename=path.name)
        if template.id in templates:
            doc = load_yaml(data, filename=path.name, error=TemplateError)
            raise doc.error(
                ("id",),
                f"duplicate template id '{template.id}' (also in {templates[template.id].origin})",
                value=True,
                error=TemplateError,
            )
        templates[template.id] = template
    return templates


def not_applicable(template: Template, facts: Facts) -> dict[str, str]:
    """Item id -> reason, for every item of the template that does not apply (a section's
    condition covers all its items; an item's own is checked after it)."""
    out: dict[str, str] = {}
    for section in template.sections:
        section_reason = (
            reason_not_applicable(section.applies_when, facts) if section.applies_when is not None else None
        )
        for item in section.items:
            reason = section_reason
            if reason is None and item.applies_when is not None:
                reason = reason_not_applicable(item.applies_when, facts)
            if reason is not None:
                out[item.id] = reason
    return out
