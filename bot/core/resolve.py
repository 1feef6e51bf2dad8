"""Which templates a `.readiness.yml` selects, trimmed by its exclusions, with its overrides attached.

Pure like the rest of the core: custom templates come in through a `read(path)` callable, so the
bot (reading through an API at a commit) and the CLI (reading a checkout) share this code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from pathspec import GitIgnoreSpec

from bot.core.durations import parse_ttl
from bot.core.globs import compile_glob
from bot.core.pathindex import matching_any
from bot.core.rules import Rule
from bot.core.scopes import VENDORED_DIRS
from bot.core.settings import ChecklistChoice, RepoConfig, parse_extra_rule
from bot.core.snapshot import RepoSnapshot
from bot.core.templates import Template, parse_template
from bot.core.yamlload import suggest_id


@dataclass(frozen=True, slots=True)
class ResolvedChecklist:
    """A chosen checklist ready to evaluate: exclusions applied, overrides keyed by item id."""

    template: Template
    extra_rules: Mapping[str, Rule]
    skips: Mapping[str, str]  # item id -> reason
    source: str = "shipped"  # "shipped", or the custom template's path in the repository
    skip_until: Mapping[str, date] = field(default_factory=dict)  # item id -> a skip's last day
    ttl_days: Mapping[str, int] = field(default_factory=dict)  # manual item id -> re-attest after
    owners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # item id -> `owners:` entry
    section_owners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # section id -> owners
    mandatory: frozenset[str] = frozenset()  # item ids the organisation forbids skipping in a file
    approvers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # item id -> who approves skips


def resolve_checklists(
    config: RepoConfig,
    *,
    shipped: Mapping[str, Template],
    read: Callable[[str], str | bytes | None],
) -> list[ResolvedChecklist]:
    """The chosen templates with exclusions applied and overrides attached to the right items.

    Custom templates are read with `read(path)` (None when absent) and parsed as templates, so
    their errors are TemplateErrors naming the template file.
    """
    templates: list[tuple[Template, str]] = []
    owner: dict[str, int] = {}
    for i, choice in enumerate(config.chosen):
        template = _template_for(config, i, choice, shipped, read)
        if template.id in owner:
            raise config.error(
                ("checklists", i),
                f"two chosen checklists have the id '{template.id}' (see checklists[{owner[template.id]}])",
            )
        owner[template.id] = i
        templates.append((template, choice.path or "shipped"))

    excluded: list[set[str]] = []
    trimmed: list[Template] = []
    for i, (choice, (template, _)) in enumerate(zip(config.chosen, templates, strict=True)):
        kept, dropped = _exclude(config, i, choice, template)
        trimmed.append(kept)
        excluded.append(dropped)

    extra: list[dict[str, Rule]] = [{} for _ in templates]
    skips: list[dict[str, str]] = [{} for _ in templates]
    ends: list[dict[str, date]] = [{} for _ in templates]
    ttls: list[dict[str, int]] = [
        {i.id: i.ttl_days for _, i in t.items() if i.ttl_days is not None} for t, _ in templates
    ]
    for key, override in config.items.items():
        index, item_id = _owner_of(config, key, [t for t, _ in templates])
        if item_id in excluded[index]:
            continue  # an organisation-wide override for an item this repository leaves out
        if override.skip is not None:
            skips[index][item_id] = override.skip.strip()
            if override.until is not None:
                ends[index][item_id] = override.until
        if override.evidence is not None:
            extra[index][item_id] = parse_extra_rule(config, key, override.evidence)
        if override.ttl is not None:
            ttls[index][item_id] = parse_ttl(override.ttl) or 0
    chosen = [t for t, _ in templates]
    item_owners: list[dict[str, tuple[str, ...]]] = [{} for _ in templates]
    section_owners: list[dict[str, tuple[str, ...]]] = [{} for _ in templates]
    for key, names in config.owners.items():
        index, kind, target = _owned_by(config, key, chosen)
        (section_owners if kind == "section" else item_owners)[index][target] = names
    mandatory: list[set[str]] = [set() for _ in templates]
    approvers: list[dict[str, tuple[str, ...]]] = [{} for _ in templates]
    for key, rules in config.governance.items():
        found = _find_item(key, chosen)
        if found is None:
            continue  # the organisation governs an item this repository does not track
        index, item_id = found
        if rules.mandatory:
            mandatory[index].add(item_id)
        if rules.approvers:
            approvers[index][item_id] = rules.approvers
    for key in sorted(config.own_skips):
        index, item_id = _owner_of(config, key, chosen)
        if item_id in mandatory[index]:
            raise config.error(
                ("items", key, "skip"),
                f"item '{chosen[index].id}/{item_id}' is mandatory (set by the organisation default) and "
                "cannot be skipped in this file; ask an approver, or comment "
                f"`/readiness skip {chosen[index].id}/{item_id} <reason>` for them to approve",
            )
    return [
        ResolvedChecklist(
            template=t,
            extra_rules=extra[i],
            skips=skips[i],
            source=templates[i][1],
            skip_until=ends[i],
            ttl_days=ttls[i],
            owners=item_owners[i],
            section_owners=section_owners[i],
            mandatory=frozenset(mandatory[i]),
            approvers=approvers[i],
        )
        for i, t in enumerate(trimmed)
    ]


def _find_item(key: str, templates: list[Template]) -> tuple[int, str] | None:
    """Like `_owner_of`, but None (no error) for a key naming no unique chosen item."""
    checklist_id, _, item_id = key.rpartition("/")
    found = [
        (i, item_id)
        for i, t in enumerate(templates)
        if (not checklist_id or t.id == checklist_id) and t.item(item_id) is not None
    ]
    return found[0] if len(found) == 1 else None


def _owned_by(config: RepoConfig, key: str, templates: list[Template]) -> tuple[int, str, str]:
    """What an `owners:` key names: (checklist index, "section" | "item", id). A section id or an
    item key, each with or without its checklist; a bare id must be unique."""
    checklist_id, _, name = key.rpartition("/")
    found: list[tuple[int, str, str]] = []
    for i, t in enumerate(templates):
        if checklist_id and t.id != checklist_id:
            continue
        found += [(i, "section", s.id) for s in t.sections if s.id == name]
        found += [(i, "item", it.id) for _, it in t.items() if it.id == name]
    if len(found) == 1:
        return found[0]
    where = ("owners", key)
    if found:
        names = " and ".join(f"the {kind} '{templates[i].id}/{n}'" for i, kind, n in found)
        raise config.error(where, f"'{key}' names {names}; write one of them in full", key=True)
    every = sorted(
        {f"{t.id}/{s.id}" for t in templates for s in t.sections}
        | {f"{t.id}/{it.id}" for t in templates for _, it in t.items()}
    )
    raise config.error(
        where,
        f"no chosen checklist has a section or item '{key}'",
        suggest_id(key, every),
        key=True,
    )


def _template_for(
    config: RepoConfig,
    index: int,
    choice: ChecklistChoice,
    shipped: Mapping[str, Template],
    read: Callable[[str], str | bytes | None],
) -> Template:
    if choice.id is not None:
        if choice.id not in shipped:
            raise config.error(
                ("checklists", index) if config.checklists else (),
                f"unknown checklist '{choice.id}'; shipped checklists: {', '.join(sorted(shipped))}",
                suggest_id(choice.id, shipped),
            )
        return shipped[choice.id]
    assert choice.path is not None
    raw = read(choice.path)
    if raw is None:
        raise config.error(
            ("checklists", index, "path"), f"custom template '{choice.path}' not found in the repository"
        )
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise config.error(
                ("checklists", index, "path"), f"custom template '{choice.path}' is not UTF-8 text"
            ) from None
    return parse_template(raw, filename=choice.path)


def _exclude(
    config: RepoConfig, index: int, choice: ChecklistChoice, template: Template
) -> tuple[Template, set[str]]:
    section_ids = [s.id for s in template.sections]
    item_ids = [item.id for s in template.sections for item in s.items]
    for j, section_id in enumerate(choice.exclude_sections):
        if section_id not in section_ids:
            raise config.error(
                ("checklists", index, "exclude_sections", j),
                f"checklist '{template.id}' has no section '{section_id}'",
                suggest_id(section_id, section_ids),
            )
    for j, item_id in enumerate(choice.exclude_items):
        if item_id not in item_ids:
            raise config.error(
                ("checklists", index, "exclude_items", j),
                f"checklist '{template.id}' has no item '{item_id}'",
                suggest_id(item_id, item_ids),
            )
    if not choice.exclude_items and not choice.exclude_sections:
        return template, set()
    dropped = set(choice.exclude_items)
    sections = []
    for section in template.sections:
        if section.id in choice.exclude_sections:
            dropped.update(item.id for item in section.items)
            continue
        items = tuple(item for item in section.items if item.id not in dropped)
        if items:
            sections.append(replace(section, items=items))
    return replace(template, sections=tuple(sections)), dropped


def _owner_of(config: RepoConfig, key: str, templates: list[Template]) -> tuple[int, str]:
    """Which chosen checklist an override key names: `<checklist>/<item>`, or `<item>` if unique."""
    where = ("items", key)
    if "/" in key:
        checklist_id, item_id = key.split("/", 1)
        ids = [t.id for t in templates]
        if checklist_id not in ids:
            raise config.error(
                where,
                f"'{checklist_id}' is not one of the chosen checklists ({', '.join(ids)})",
                suggest_id(checklist_id, ids),
                key=True,
            )
        index = ids.index(checklist_id)
        items = [item.id for s in templates[index].sections for item in s.items]
        if item_id not in items:
            raise config.error(
                where,
                f"checklist '{checklist_id}' has no item '{item_id}'",
                suggest_id(item_id, items),
                key=True,
            )
        return index, item_id
    owners = [
        i for i, t in enumerate(templates) if any(item.id == key for s in t.sections for item in s.items)
    ]
    if len(owners) > 1:
        names = " and ".join(f"'{templates[i].id}/{key}'" for i in owners)
        raise config.error(where, f"item '{key}' is in several chosen checklists; write {names}", key=True)
    if not owners:
        every = sorted({item.id for t in templates for s in t.sections for item in s.items})
        raise config.error(
            where, f"no chosen checklist has an item '{key}'", suggest_id(key, every), key=True
        )
    return owners[0], key


VENDORED_GLOBS = tuple(f"{d}/" for d in VENDORED_DIRS)  # directories of that name, at any depth


def hidden_by(paths: Sequence[str], globs: Sequence[str]) -> set[str]:
    """The paths any of these gitignore-style globs hides: one Hyperscan pass for all of them,
    or pathspec one path at a time where Hyperscan is not installed."""
    found = matching_any(paths, [compile_glob(g) for g in globs])
    if found is None:
        spec = GitIgnoreSpec.from_lines(globs)
        found = {p for p in paths if spec.match_file(p)}
    return found


def vendored(paths: Sequence[str]) -> set[str]:
    """The paths inside a vendored dependency directory."""
    return hidden_by(paths, VENDORED_GLOBS)


def apply_ignore(config: RepoConfig, snapshot: RepoSnapshot) -> RepoSnapshot:
    """The snapshot without vendored dependencies (unless `ignore_vendored: false`) and without
    the paths `ignore:` names, so no rule can tick on them."""
    globs = [*(VENDORED_GLOBS if config.ignore_vendored else ()), *config.ignore]
    hidden = hidden_by(snapshot.paths, globs) if globs else set()
    if not hidden:
        return snapshot
    return replace(snapshot, paths=tuple(p for p in snapshot.paths if p not in hidden))


def without_own_inputs(config: RepoConfig, snapshot: RepoSnapshot) -> RepoSnapshot:
    """The snapshot without the bot's own inputs (the config file and custom templates): they
    quote the very names rules search for, and must never tick an item by mentioning it."""
    own = {".readiness.yml", *(c.path for c in config.chosen if c.path)}
    if not own.intersection(snapshot.paths):
        return snapshot
    return replace(snapshot, paths=tuple(p for p in snapshot.paths if p not in own))
