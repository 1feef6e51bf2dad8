"""Gather what deciding owners needs (the CODEOWNERS file, owner teams' members), then decide
with the pure `bot.core.owners`: who owns each item, and whom each section issue is assigned to.

Reads only. The assignees become part of each section issue's desired state, so they reach the
platform through the same create/update path as every other field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core import codeowners, owners, tracker
from bot.core.resolve import ResolvedChecklist
from bot.platforms.base import Platform
from bot.platforms.registry import codeowners_locations

Read = Callable[[str], Awaitable[bytes | None]]


@dataclass(frozen=True, slots=True)
class Ownership:
    items: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # (checklist, item)
    assignees: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # section issue key -> logins

    def of(self, checklist: str, item: str) -> tuple[str, ...]:
        return self.items.get((checklist, item), ())


async def read_codeowners(platform: str, read: Read) -> codeowners.CodeOwners | None:
    """The platform's first CODEOWNERS file (absent files cost no call when the tree is complete)."""
    locations = codeowners_locations(platform)
    for path in locations:
        raw = await read(path)
        if raw is not None:
            return codeowners.find_codeowners(locations, {path: raw})
    return None


async def item_owners(
    platform: Platform, checklists: Sequence[ResolvedChecklist], read: Read
) -> dict[tuple[str, str], tuple[str, ...]]:
    """(checklist, item) -> owners; CODEOWNERS is read only when some item has no explicit owner."""
    needs_file = any(
        not c.owners.get(i.id) and not i.owners and not c.section_owners.get(s.id) and not s.owners
        for c in checklists
        for s, i in c.template.items()
    )
    found = await read_codeowners(platform.name, read) if needs_file else None
    return {
        (c.template.id, item_id): names
        for c in checklists
        for item_id, names in owners.item_owners(c, found).items()
    }


async def team_members(platform: Platform, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Members of each owner that is a team: `@org/team` always; a bare `@name` when the
    platform says it is a group (GitLab top-level groups; GitHub asks nothing)."""
    out: dict[str, tuple[str, ...]] = {}
    for name in sorted({n.removeprefix("@") for n in names}):
        if await platform.is_team(name):
            out[name] = await platform.team_members(name)
    return out


async def gather_ownership(
    platform: Platform, checklists: Sequence[ResolvedChecklist], read: Read
) -> Ownership:
    items = await item_owners(platform, checklists, read)
    members = await team_members(platform, (name for names in items.values() for name in names))
    assignees: dict[str, tuple[str, ...]] = {}
    for c in checklists:
        for section in c.template.sections:
            names = [n for i in section.items for n in items.get((c.template.id, i.id), ())]
            logins = owners.assignees(names, members)
            if logins:
                assignees[tracker.section_key(c.template.id, section.id)] = logins
    return Ownership(items, assignees)
