"""Parse `/readiness …` commands out of a comment body, and resolve the item ids they name.

Only lines a person meant as commands count: a command quoted in a reply (`> /readiness skip …`),
shown in a fenced or indented code block, or written mid-sentence is ignored, so explaining the
bot to a colleague never triggers it. Mistakes become `CommandError`s carrying a suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.yamlload import suggest

PREFIX = "/readiness"
NAMES = ("status", "sync", "skip", "unskip", "help")
ALIASES = {"refresh": "sync"}
MAX_COMMANDS = 10  # one comment cannot make the bot do unbounded work

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_COMMAND = re.compile(r"^ {0,3}/readiness(?:\s+(?P<rest>.*))?$", re.IGNORECASE)
USAGE = {
    "status": "`/readiness status`: progress, recent changes and what is next",
    "sync": "`/readiness sync` (or `refresh`): re-check the repository now",
    "skip": "`/readiness skip <checklist/item> <reason>`: mark an item not applicable (write access)",
    "unskip": "`/readiness unskip <checklist/item>`: track a skipped item again (write access)",
    "help": "`/readiness help`: this list",
}


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # one of NAMES
    line: int  # 1-based line of the comment
    target: str | None = None  # skip/unskip: "checklist/item" or "item", as written (lowercased)
    reason: str | None = None  # skip


@dataclass(frozen=True, slots=True)
class CommandError:
    line: int
    text: str  # the command line as written
    message: str
    suggestion: str | None = None  # e.g. "/readiness status", or an item id

    def __str__(self) -> str:
        hint = f" Did you mean `{self.suggestion}`?" if self.suggestion else ""
        return f"{self.message}{hint}"


Parsed = Command | CommandError


def closest(word: str, choices: Iterable[str]) -> str | None:
    """Commands are short words: a looser cutoff than config keys still finds `stauts` → `status`."""
    return suggest(word, choices, cutoff=0.5)


def command_lines(body: str | None) -> list[tuple[int, str]]:
    """(line number, text) of each line that starts with `/readiness` outside code and quotes."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    for number, raw in enumerate((body or "").splitlines(), start=1):
        line = raw.rstrip()
        m = _FENCE.match(line)
        if fence is not None:
            # a fence closes with the same character, at least as long, and nothing after it
            if m and m["fence"][0] == fence[0] and len(m["fence"]) >= len(fence) and not m["info"].strip():
                fence = None
            continue
        if m and not (m["fence"][0] == "`" and "`" in m["info"]):
            fence = m["fence"]
            continue
        if line.startswith(("\t", "    ")) or line.lstrip().startswith(">"):
            continue  # indented code, or a quote of someone else's words
        if _COMMAND.match(line):
            out.append((number, line.strip()))
    return out


def parse(body: str | None) -> list[Parsed]:
    """Every command in a comment, in order; at most MAX_COMMANDS."""
    return [_parse_line(n, text) for n, text in command_lines(body)[:MAX_COMMANDS]]


def _parse_line(number: int, text: str) -> Parsed:
    m = _COMMAND.match(text)
    assert m is not None
    words = (m["rest"] or "").split(None, 2)
    if not words:
        return CommandError(number, text, "No command given.", f"{PREFIX} help")
    name = words[0].lower()
    name = ALIASES.get(name, name)
    if name not in NAMES:
        guess = closest(name, [*NAMES, *ALIASES])
        return CommandError(
            number,
            text,
            f"Unknown command `{words[0]}`.",
            f"{PREFIX} {ALIASES.get(guess, guess)}" if guess else f"{PREFIX} help",
        )
    args = words[1:]
    if name in ("status", "sync", "help"):
        return Command(name, number)
    if not args:
        return CommandError(number, text, f"`{name}` needs an item id: {USAGE[name]}.")
    target = args[0].lower().strip("`")
    if name == "unskip":
        return Command(name, number, target=target)
    reason = args[1].strip().strip("\"'`").strip() if len(args) > 1 else ""
    if not reason:
        return CommandError(
            number,
            text,
            f"`skip` needs a reason, so others know why `{target}` does not apply: "
            f"`{PREFIX} skip {target} <reason>`.",
        )
    return Command(name, number, target=target, reason=reason)


def resolve_item(target: str, known: Mapping[str, Iterable[str]]) -> tuple[str, str] | str:
    """(checklist, item) for `checklist/item` or a bare item id unique across `known`
    (checklist -> item ids); otherwise a message naming the problem and the closest valid id."""
    every = [f"{c}/{i}" for c, ids in known.items() for i in ids]
    checklist, _, item = target.rpartition("/")
    if checklist:
        if item in set(known.get(checklist, ())):
            return checklist, item
        guess = closest(target, every)
    else:
        owners = [c for c, ids in known.items() if item in set(ids)]
        if len(owners) == 1:
            return owners[0], item
        if len(owners) > 1:
            both = ", ".join(f"`{c}/{item}`" for c in owners)
            return f"`{item}` is in several checklists; name one: {both}."
        guess = closest(item, [i for ids in known.values() for i in ids])
        guess = next((e for e in every if e.endswith(f"/{guess}")), None) if guess else None
    hint = f" Did you mean `{guess}`?" if guess else ""
    return f"No item `{target}` in this repository's checklists.{hint}"


def help_text() -> str:
    return "Commands (one per line, outside quotes and code blocks):\n" + "\n".join(
        f"- {USAGE[n]}" for n in NAMES
    )
