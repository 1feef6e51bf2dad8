"""CODEOWNERS files: which people or teams own a path, as GitHub and GitLab decide it.

The file is repository text, so it is hostile: its patterns compile through the bot's glob
machinery (gitignore semantics on RE2, linear in the path's length whatever the pattern), the
number of rules is capped, and lines that cannot be used are skipped (as the platforms do), not
fatal. The last matching rule wins, so matching walks the rules backwards and stops at the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.globs import Glob, GlobError, compile_glob

OWNER_EXPECTED = 'expected an owner such as "@alice" or "@org/sre" (or a list of them)'
MAX_RULES = 5_000  # far above real files; beyond it the rest is ignored
_OWNER = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")
_SECTION = re.compile(r"^\^?\[[^\]]+\](?:\[\d+\])?(?P<owners>(?:\s+\S+)*)\s*$")  # GitLab `[Docs] @a`


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]  # "@user" or "@org/team"; empty: the path has no owner
    line: int
    glob: Glob


@dataclass(frozen=True, slots=True)
class CodeOwners:
    filename: str
    rules: tuple[Rule, ...]

    def owners_of(self, path: str) -> tuple[str, ...]:
        """The owners the last rule matching `path` names (none when no rule matches)."""
        for rule in reversed(self.rules):
            if rule.glob.regex.match(path):
                return rule.owners
        return ()


def is_owner(text: str) -> bool:
    """`@login` or `@org/team` (GitLab: `@group/subgroup`); e-mail addresses cannot be assigned."""
    return bool(_OWNER.match(text))


def parse_codeowners(text: str, *, filename: str) -> CodeOwners:
    """Rules in file order. GitLab sections carry default owners for the rules below them."""
    rules: list[Rule] = []
    defaults: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line:
            continue
        section = _SECTION.match(line)
        if section:
            defaults = tuple(o for o in section["owners"].split() if is_owner(o))
            continue
        pattern, *names = _split(line)
        owners = tuple(dict.fromkeys(o for o in names if is_owner(o))) if names else defaults
        glob = _compile(pattern)
        if glob is None:
            continue
        rules.append(Rule(pattern, owners, number, glob))
        if len(rules) >= MAX_RULES:
            break
    return CodeOwners(filename, tuple(rules))


def find_codeowners(locations: Sequence[str], read: Mapping[str, str | bytes | None]) -> CodeOwners | None:
    """The first CODEOWNERS file present among `locations`, the platform's own search order (its
    package's spec says it); `read`: path -> text."""
    for path in locations:
        raw = read.get(path)
        if raw is None:
            continue
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        return parse_codeowners(text, filename=path)
    return None


def owners_for_paths(codeowners: CodeOwners, paths: Iterable[str]) -> tuple[str, ...]:
    """Every owner of any of the paths, in the order first met."""
    found: dict[str, None] = {}
    for path in paths:
        found.update(dict.fromkeys(codeowners.owners_of(path)))
    return tuple(found)


def _strip_comment(line: str) -> str:
    """`#` starts a comment at the start of a line or after a space; `\\#` is a literal `#`."""
    if line.lstrip().startswith("#"):
        return ""
    m = re.search(r"(?<!\\)\s#", line)
    return line[: m.start()] if m else line


def _split(line: str) -> Sequence[str]:
    """The pattern (spaces may be escaped as `\\ `) and the owners after it."""
    parts = re.split(r"(?<!\\)\s+", line)
    return [parts[0].replace("\\ ", " "), *parts[1:]]


def _compile(pattern: str) -> Glob | None:
    """CODEOWNERS patterns are gitignore patterns without negation; a `/` alone owns everything."""
    if pattern.startswith("!"):
        return None  # GitHub and GitLab do not support negation: the line is ignored
    if pattern in ("/", "/*", "/**"):
        pattern = "*"
    try:
        return compile_glob(pattern)
    except GlobError:
        return None
