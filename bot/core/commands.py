"""Parse `/readiness …` commands out of a comment body, and resolve the item ids they name.

Only lines a person meant as commands count: a command quoted in a reply (`> /readiness skip …`),
shown in a fenced or indented code block, or written mid-sentence is ignored, so explaining the
bot to a colleague never triggers it. Mistakes become `CommandError`s carrying a suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.yamlload import suggest

PREFIX = "/readiness"
TARGETED = frozenset({"done", "undo", "skip", "unskip", "approve", "why"})
# commands whose whole rest is the item, so an unquoted title part may have spaces
WHOLE_REST = frozenset({"undo", "unskip", "approve", "why"})
ALIASES = {"refresh": "sync"}
MAX_COMMANDS = 10  # one comment cannot make the bot do unbounded work

_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_COMMAND = re.compile(r"^ {0,3}/readiness(?:\s+(?P<rest>.*))?$", re.IGNORECASE)
USAGE = {
    "status": "`/readiness status`: progress, recent changes and what is next",
    "sync": "`/readiness sync` (or `refresh`): re-check the repository now",
    "why": "`/readiness why <item>`: what the item looks for, what was found, and why it is (not) ticked",
    "done": "`/readiness done <item> [note]`: tick an item by hand, with an optional note (write access)",
    "undo": "`/readiness undo <item>`: untick an item ticked by hand (write access)",
    "skip": "`/readiness skip <item> [until YYYY-MM-DD] <reason>`: mark an item not applicable, "
    "optionally until a day (write access)",
    "unskip": "`/readiness unskip <item>`: track a skipped item again, or withdraw a pending skip "
    "(write access)",
    "approve": "`/readiness approve <item>`: confirm a pending skip of an item the organisation governs "
    "(its approvers only)",
    "help": "`/readiness help`: this list",
}
NAMES = tuple(USAGE)  # every command, in the order `help` lists them


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # one of NAMES
    line: int  # 1-based line of the comment
    target: str | None = None  # an item id, `checklist/item`, or part of a title (lowercased)
    reason: str | None = None  # skip: the reason; done: the note
    until: date | None = None  # skip: the day the exemption ends


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
    if name not in TARGETED or name not in NAMES:
        return Command(name, number)
    rest = words[1] + (" " + words[2] if len(words) > 2 else "") if len(words) > 1 else ""
    target, rest = _target(rest, whole=name in WHOLE_REST)
    if not target:
        return CommandError(number, text, f"`{name}` needs an item: {USAGE[name]}.")
    if name == "done":
        return Command(name, number, target=target, reason=_unquote(rest) or None)
    if name != "skip":
        return Command(name, number, target=target)
    until: date | None = None
    m = _UNTIL.match(rest)
    if m:
        try:
            until = date.fromisoformat(m["day"])
        except ValueError:
            return CommandError(
                number, text, f"`{m['day']}` is not a date; write the end of the skip as YYYY-MM-DD."
            )
        rest = rest[m.end() :]
    reason = _unquote(rest)
    if not reason:
        return CommandError(
            number,
            text,
            f"`skip` needs a reason, so others know why `{target}` does not apply: "
            f"`{PREFIX} skip {target} <reason>`.",
        )
    return Command(name, number, target=target, reason=reason, until=until)


_UNTIL = re.compile(r"^until\s+(?P<day>\S+)\s*", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "`": "`", "“": "”"}


MAX_NOTE = 300  # a reason or note is shown on one line of the issue


def _unquote(text: str) -> str:
    line = " ".join(text.split())  # one line, whatever the comment held
    return line.strip("\"'`“”").strip()[:MAX_NOTE]


def _target(rest: str, *, whole: bool) -> tuple[str, str]:
    """The item a command names and what follows it: a quoted title part, the whole rest (for
    commands that take nothing after the item), or the first word."""
    rest = rest.strip()
    if rest[:1] in _QUOTES:
        end = rest.find(_QUOTES[rest[0]], 1)
        if end > 1:
            return rest[1:end].strip().lower(), rest[end + 1 :].strip()
    if whole:
        return rest.strip("`").lower(), ""
    first, _, after = rest.partition(" ")
    return first.strip("`").lower(), after.strip()


def resolve_item(
    target: str, known: Mapping[str, Iterable[str] | Mapping[str, str]]
) -> tuple[str, str] | str:
    """(checklist, item) for `checklist/item`, a bare item id unique across `known`, or a part of
    one item's title; otherwise a message naming the problem (several matches are all listed).

    `known` maps checklist -> item ids, or checklist -> {item id: title} to allow title parts."""
    ids = {c: list(v) for c, v in known.items()}
    titles = {f"{c}/{i}": t for c, v in known.items() if isinstance(v, Mapping) for i, t in v.items()}
    every = [f"{c}/{i}" for c, items in ids.items() for i in items]
    checklist, _, item = target.rpartition("/")
    if checklist:
        if item in set(ids.get(checklist, ())):
            return checklist, item
        guess = closest(target, every)
    else:
        owners = [c for c, items in ids.items() if item in set(items)]
        if len(owners) == 1:
            return owners[0], item
        if len(owners) > 1:
            return _several(item, [f"{c}/{item}" for c in owners])
        by_title = _title_matches(target, titles)
        if len(by_title) == 1:
            found_c, _, found_i = by_title[0].partition("/")
            return found_c, found_i
        if by_title:
            return _several(target, by_title)
        guess = closest(item, [i for items in ids.values() for i in items])
        guess = next((e for e in every if e.endswith(f"/{guess}")), None) if guess else None
    hint = f" Did you mean `{guess}`?" if guess else ""
    return f"No item `{target}` in this repository's checklists.{hint}"


MAX_LISTED = 10


def _several(target: str, matches: Sequence[str]) -> str:
    shown = ", ".join(f"`{m}`" for m in matches[:MAX_LISTED])
    more = f" and {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else ""
    return f"`{target}` matches several items; nothing was changed. Name one: {shown}{more}."


def _title_matches(target: str, titles: Mapping[str, str]) -> list[str]:
    """Items whose title contains every word of `target` (case-insensitive); an exact title wins."""
    words = target.lower().split()
    if not words or len(target) < 3:
        return []
    exact = [k for k, t in titles.items() if t.lower().strip() == target.lower().strip()]
    if exact:
        return exact
    return [k for k, t in titles.items() if all(w in t.lower() for w in words)]


@dataclass(frozen=True, slots=True)
class FloodLimit:
    """At most `count` state-changing commands per person in `window`."""

    count: int = 10
    window: timedelta = timedelta(minutes=10)


def flood_retry_at(recent: Iterable[datetime], now: datetime, limit: FloodLimit) -> datetime | None:
    """When a person who sent commands at `recent` may try again, or None if they may now.

    The oldest command inside the window decides: once it leaves the window, one more fits."""
    inside = sorted(t for t in recent if now - t < limit.window)
    if len(inside) < limit.count:
        return None
    return inside[len(inside) - limit.count] + limit.window


def reply_marker(comment_id: int) -> str:
    """The hidden line that ties the bot's reply to the command comment it answers."""
    return f"<!-- readiness:reply {int(comment_id)} -->"


def help_text() -> str:
    return "Commands (one per line, outside quotes and code blocks):\n" + "\n".join(
        f"- {USAGE[n]}" for n in NAMES
    )
