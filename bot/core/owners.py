"""Who owns each checklist item, and whom a section issue is assigned to. Pure.

The most specific word wins, and at the same level the repository's own file wins over the
template: `owners:` in `.readiness.yml` for the item, the item's `owner:` in the template, then
the same two for its section; otherwise CODEOWNERS decides from the paths the item's evidence
rule names (the owner of `deploy/` owns the deployment items). A manual item names no paths, so
only an explicit owner owns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from bot.core.codeowners import CodeOwners, owners_for_paths
from bot.core.globs import GlobError, compile_glob
from bot.core.rule_syntax import walk_rule
from bot.core.rules import Contains, Files, Rule

if TYPE_CHECKING:
    from bot.core.resolve import ResolvedChecklist

MAX_ASSIGNEES = 10  # GitHub assigns at most 10 people to an issue
Owners = tuple[str, ...]


def evidence_paths(rule: Rule | None) -> tuple[str, ...]:
    """The literal entries a rule's globs name, as CODEOWNERS would see them: `deploy/` for
    `deploy/**/*.yaml`, `docs/runbooks/` for `docs/runbooks/`, `Dockerfile` for `**/Dockerfile`."""
    if rule is None:
        return ()
    out: dict[str, None] = {}
    for node in walk_rule(rule):
        if isinstance(node, Files | Contains):
            for text in node.globs:
                entry = _entry(text)
                if entry:
                    out[entry] = None
    return tuple(out)


def _entry(text: str) -> str | None:
    try:
        glob = compile_glob(text)
    except GlobError:
        return None
    if glob.name is None:
        return glob.anchor or None
    return glob.anchor + glob.name + ("/" if glob.dir_only else "")


def item_owners(checklist: ResolvedChecklist, codeowners: CodeOwners | None) -> dict[str, Owners]:
    """Item id -> its owners ("@user", "@org/team"), for every item that has any."""
    out: dict[str, Owners] = {}
    for section, item in checklist.template.items():
        found = (
            checklist.owners.get(item.id)
            or item.owners
            or checklist.section_owners.get(section.id)
            or section.owners
        )
        if not found and codeowners is not None:
            rules = [r for r in (item.rule, checklist.extra_rules.get(item.id)) if r is not None]
            found = owners_for_paths(codeowners, (p for r in rules for p in evidence_paths(r)))
        if found:
            out[item.id] = tuple(found)
    return out


def logins_of(name: str, members: Mapping[str, Iterable[str]]) -> Iterable[str]:
    """The people an owner name (without `@`) stands for: a team's (or group's) members when
    `members` knows it as one, none for an `org/team` that could not be read, else the user.
    A bare name is a user on GitHub but may be a top-level group on GitLab: the platform says."""
    if name in members:
        return members[name]
    return () if "/" in name else (name,)


def assignees(owners: Iterable[str], members: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Logins to assign: users as they are, teams as their members (a platform cannot assign a
    team), in order, without duplicates, at most MAX_ASSIGNEES."""
    out: dict[str, None] = {}
    for owner in owners:
        for login in logins_of(owner.removeprefix("@"), members):
            out[login] = None
    return tuple(out)[:MAX_ASSIGNEES]


def mention(owners: Iterable[str]) -> str:
    """`@a, @org/sre` as written: a team mention notifies the team, as the owner asked."""
    return ", ".join(dict.fromkeys(owners))
