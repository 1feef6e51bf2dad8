"""The issues a repository should have: titles, markdown bodies with hidden markers, and states.

Bodies are a *view* of item states; `parse_checkboxes` reads a body back so a person's tick can be
told apart from what the bot last rendered. Every issue carries a marker naming what it is, and
every item line carries its item key, so the bot finds its own issues and items by marker only.
The issue's marker also carries a per-issue nonce (`n=<16 hex>`) that every item line repeats:
an item line counts only when its nonce is the issue's (`parse_checkboxes`), so a line copied
from another issue or typed by hand cannot stand in for the bot's. Issues written before nonces
(legacy bodies: no `n=` anywhere) are read with the rules of their time and get nonces with the
next edit the bot makes anyway.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.decide import APPLIES_ACTOR, CONFIG_ACTOR, shown_checked
from bot.core.decide import UNKNOWN_PERSON as UNKNOWN_PERSON  # re-exported: renderers and parsers name it
from bot.core.state import ItemState, Status
from bot.core.templates import Section, Template

SCHEMA = "v1"
MARKER_PREFIX = "<!-- readiness:"
EPIC_KEY = "epic"
CONFIG_ERROR_KEY = "config-error"
BAR_WIDTH = 10
MAX_BODY = 65_000  # GitHub rejects issue bodies over 65,536 characters

NONCE_LENGTH = 16  # hex digits: 64 bits, not guessable by whoever writes the repository's text

# Only lines as the bot writes them count: at the start of a line, not indented (nested under a
# note), carrying the issue's nonce, and the first such line per key. Repository text is escaped to
# one line with no "<" (`inline`), so nothing a template or a file name holds can start a line, let
# alone plant a marker; the nonce is the second lock, for lines a person pastes in.
_NONCE = rf"(?: n=(?P<n>[0-9a-f]{{{NONCE_LENGTH}}}))?"
_ITEM_LINE = re.compile(
    rf"^[-*+] \[([ xX~])\] <!-- readiness:item (?P<key>[^\s]+?){_NONCE} -->", re.MULTILINE
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|#!])")
_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")


def inline(text: str) -> str:
    """Repository text (titles, why, evidence with file names) as one line of literal Markdown:
    line breaks become spaces, HTML is inert (`<!--` cannot start a marker), Markdown is escaped."""
    text = _BREAKS.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def one_line(text: str) -> str:
    """Text whose inline Markdown (`code`, *emphasis*) is meant, such as a `why` or evidence
    naming files in backticks: one line, and HTML inert, so it can neither start a line nor hide
    the rest of the body in an unclosed comment."""
    return _BREAKS.sub(" ", text).replace("<", "&lt;").replace(">", "&gt;")


def fenced(text: str) -> str:
    """A code block holding `text` verbatim: the fence is longer than any backtick run in it."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


_MARKER = re.compile(
    rf"<!-- readiness:(?P<kind>epic|section|config-error)(?: (?P<ref>\S+))? (?P<v>v\d+){_NONCE} -->"
)


SECTION_PREFIX = "section:"


def section_key(checklist: str, section: str) -> str:
    return f"{SECTION_PREFIX}{checklist}:{section}"


def marker_for(key: str, nonce: str | None = None) -> str:
    """The hidden marker for an issue key: how the bot recognises its own issues. With `nonce`,
    the marker also says which item lines are the bot's (None: a legacy marker)."""
    n = f" n={nonce}" if nonce else ""
    if key.startswith(SECTION_PREFIX):
        _, checklist, section = key.split(":", 2)
        return f"{MARKER_PREFIX}section {checklist}/{section} {SCHEMA}{n} -->"
    return f"{MARKER_PREFIX}{key} {SCHEMA}{n} -->"


def nonce_of(body: str | None) -> str | None:
    """The nonce in a body's issue marker (the one `key_from_body` reads), None for a legacy body."""
    m = _MARKER.search(body or "")
    return m["n"] if m else None


def derive_nonce(*, repo: str, key: str, salt: str) -> str:
    """A new issue's nonce, derived rather than drawn: the same repository, issue key and stored
    per-repository `salt` always give the same nonce. That keeps planning pure and a re-planned
    create idempotent: after a crash between the create call and its record, or a redelivered
    event, the next run renders the very body it created before, so adopting that issue edits
    nothing and a tick a person made in it meanwhile stays in place. A nonce drawn at random on
    every run would differ from the created issue's and rewrite its body. `salt` is a value the
    database holds for the repository and the repository cannot see, so its text cannot predict
    the nonce either."""
    raw = "\x00".join(("readiness-nonce", repo, key, salt))
    return hashlib.sha256(raw.encode()).hexdigest()[:NONCE_LENGTH]


@dataclass(frozen=True, slots=True)
class Nonces:
    """Each issue's nonce: the one its body already carries (`known`, read back from the bodies
    the bot last wrote), else derived (`derive_nonce`). An issue keeps its nonce for life, and a
    legacy issue gets its derived one with its next edit."""

    repo: str = ""
    salt: str = ""
    known: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read_back(cls, *, repo: str, salt: str, bodies: Mapping[str, str | None]) -> Nonces:
        """From the bodies the bot last wrote, by issue key (legacy and missing bodies: derived)."""
        known = {k: n for k, b in bodies.items() if (n := nonce_of(b))}
        return cls(repo, salt, known)

    def __call__(self, key: str) -> str:
        return self.known.get(key) or derive_nonce(repo=self.repo, key=key, salt=self.salt)


def key_from_body(body: str | None) -> str | None:
    """The issue key a body's marker names, or None for an issue the bot does not own."""
    m = _MARKER.search(body or "")
    if not m:
        return None
    if m["kind"] == "section" and m["ref"] and "/" in m["ref"]:
        checklist, section = m["ref"].split("/", 1)
        return section_key(checklist, section)
    return m["kind"]


@dataclass(frozen=True, slots=True)
class DesiredIssue:
    key: str
    title: str
    body: str
    state: str  # "open" | "closed"
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    nonce: str | None = None  # the nonce in `body`'s markers

    @property
    def digest(self) -> str:
        """Changes whenever anything the bot would write changes, except the nonce: a legacy
        issue (recorded with the digest of its nonce-free body) is not edited just to add one,
        it gets one with the next edit something else calls for."""
        body = self.body.replace(f" n={self.nonce} -->", " -->") if self.nonce else self.body
        raw = "\x00".join((self.title, body, self.state, ",".join(self.labels), ",".join(self.assignees)))
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    skipped: int
    total: int

    @property
    def percent(self) -> int:
        applicable = self.total - self.skipped
        return 100 if applicable <= 0 else (100 * self.done) // applicable

    @property
    def complete(self) -> bool:
        return self.done + self.skipped >= self.total

    def __add__(self, other: Progress) -> Progress:
        return Progress(self.done + other.done, self.skipped + other.skipped, self.total + other.total)


def progress_of(states: Iterable[ItemState]) -> Progress:
    done = skipped = total = 0
    for s in states:
        total += 1
        done += s.ticked
        skipped += s.status is Status.SKIPPED
    return Progress(done, skipped, total)


def bar(p: Progress) -> str:
    filled = round(BAR_WIDTH * p.percent / 100)
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def _state_of(states: Mapping[str, ItemState], checklist: str, item_id: str) -> ItemState:
    return states.get(item_id) or ItemState(checklist=checklist, item_id=item_id)


def _who(actor: str | None) -> str:
    return "a person (seen in the issue)" if actor in (None, UNKNOWN_PERSON) else f"@{actor}"


def _when(dt: datetime | None) -> str:
    return f" on {dt:%Y-%m-%d}" if dt else ""


def _item_note(state: ItemState) -> str | None:
    if state.status is Status.AUTO:
        return f"✔ automatically: {state.evidence}" if state.evidence else "✔ automatically"
    if state.status is Status.DONE:
        note = f": {state.reason}" if state.reason else ""  # `/readiness done <item> <note>`
        return f"✔ ticked by {_who(state.actor)}{_when(state.changed_at)}{note}"
    if state.status is Status.SKIPPED and state.actor == APPLIES_ACTOR:
        return f"➖ not applicable ({state.reason})"
    end = f" until {state.until}" if state.until else ""
    if state.status is Status.SKIPPED:
        who = "in `.readiness.yml`" if state.actor == CONFIG_ACTOR else f"by {_who(state.actor)}"
        approved = (
            f" · approved by {_who(state.approved_by)}{_when(state.changed_at)}" if state.approved_by else ""
        )
        return f"⏭ skipped {who}{end}: {state.reason}{approved}"
    if state.status is Status.PENDING:
        who = ", ".join(state.approvers) or "an approver"
        return (
            f"⏳ skip requested by {_who(state.actor)}{_when(state.changed_at)}{end}: {state.reason} · "
            f"counts as open until {who} confirms with `/readiness approve {state.checklist}/{state.item_id}`"
        )
    if state.actor:
        return f"unticked by {_who(state.actor)}{_when(state.changed_at)}"
    if state.reason:  # an exemption that ended (bot.core.decide.ended)
        return f"open again{_when(state.changed_at)}: {state.reason}"
    return None


def _item_lines(
    template: Template, section: Section, states: Mapping[str, ItemState], *, manual: set[str], nonce: str
) -> list[str]:
    """One checkbox line per item (with its why, evidence or decision): the lines ticks are read
    from, each with the issue's nonce."""
    lines: list[str] = []
    for item in section.items:
        state = _state_of(states, template.id, item.id)
        box = "x" if shown_checked(state) else " "
        title = f"~~{inline(item.title)}~~" if state.status is Status.SKIPPED else f"**{inline(item.title)}**"
        hint = " *(manual)*" if item.id in manual else ""
        key = f"{template.id}/{item.id}"
        lines.append(f"- [{box}] <!-- readiness:item {key} n={nonce} --> {title}{hint}: {one_line(item.why)}")
        note = _item_note(state)
        if note:
            lines.append(f"  - {one_line(note)}")
    return lines


def render_section(
    template: Template, section: Section, states: Mapping[str, ItemState], *, manual: set[str], nonce: str
) -> str:
    """A section issue's body: one checkbox per item with its why, evidence or decision."""
    p = progress_of(_state_of(states, template.id, i.id) for i in section.items)
    lines = [
        marker_for(section_key(template.id, section.id), nonce),
        f"**{inline(template.title)}** · {inline(section.title)}",
        "",
        f"`{bar(p)}` **{p.done} / {p.total - p.skipped} done ({p.percent}%)**"
        + (f" · {p.skipped} skipped" if p.skipped else ""),
        "",
    ]
    lines += _item_lines(template, section, states, manual=manual, nonce=nonce)
    lines += [
        "",
        "<sub>Managed by readiness-bot. Tick or untick boxes by hand: the bot records who decided and "
        "never reverses a person's decision. Skip an item with `/readiness skip "
        f"{template.id}/ITEM reason`.</sub>",
    ]
    return _cap("\n".join(lines))


def render_epic(
    *,
    repo: str,
    templates: Sequence[Template],
    states: Mapping[str, Mapping[str, ItemState]],
    numbers: Mapping[str, int],
    last_change: datetime | None,
    nonce: str,
) -> str:
    """The epic's body: overall progress and one table row per section issue."""
    rows: list[str] = []
    total = Progress(0, 0, 0)
    for t in templates:
        for s in t.sections:
            p = progress_of(_state_of(states.get(t.id, {}), t.id, i.id) for i in s.items)
            total += p
            n = numbers.get(section_key(t.id, s.id))
            link = f"#{n}" if n else "—"
            rows.append(
                f"| {inline(t.title)} | {inline(s.title)} | `{bar(p)}` {p.done}/{p.total - p.skipped} "
                f"({p.percent}%) | {link} |"
            )
    lines = [
        *_epic_head(repo, total, nonce),
        "",
        "| Checklist | Section | Progress | Issue |",
        "|---|---|---|---|",
        *rows,
        *_epic_foot(templates, last_change),
        "",
        "<sub>Managed by readiness-bot from `.readiness.yml`. Items tick themselves when evidence appears; "
        "comment `/readiness status` for a summary.</sub>",
    ]
    return _cap("\n".join(lines))


def _epic_head(repo: str, total: Progress, nonce: str) -> list[str]:
    return [
        marker_for(EPIC_KEY, nonce),
        f"## Production readiness of `{repo}`",
        "",
        f"`{bar(total)}` **{total.done} / {total.total - total.skipped} done ({total.percent}%)**"
        + (f" · {total.skipped} skipped (not counted)" if total.skipped else ""),
    ]


def _epic_foot(templates: Iterable[Template], last_change: datetime | None) -> list[str]:
    lines = ["", "Checklists: " + ", ".join(f"`{t.id}` v{t.version}" for t in templates)]
    if last_change:
        lines.append(f"Last change: {last_change:%Y-%m-%d %H:%M} UTC")
    return lines


def render_single(
    *,
    repo: str,
    checklists: Sequence[tuple[Template, set[str]]],
    states: Mapping[str, Mapping[str, ItemState]],
    last_change: datetime | None,
    nonce: str,
) -> str:
    """`issues.layout: single`: the epic holds every item, a heading per section. Same markers
    as the section issues' item lines, so ticks are read the same way. `checklists` pairs each
    template with its manual item ids."""
    total = Progress(0, 0, 0)
    body: list[str] = []
    for t, manual in checklists:
        st = states.get(t.id, {})
        for s in t.sections:
            p = progress_of(_state_of(st, t.id, i.id) for i in s.items)
            total += p
            body += [
                "",
                f"### {inline(t.title)} · {inline(s.title)} ({p.done}/{p.total - p.skipped})",
                "",
                *_item_lines(t, s, st, manual=manual, nonce=nonce),
            ]
    lines = [
        *_epic_head(repo, total, nonce),
        *body,
        *_epic_foot((t for t, _ in checklists), last_change),
        "",
        "<sub>Managed by readiness-bot from `.readiness.yml`. Tick or untick boxes by hand: the bot "
        "records who decided and never reverses a person's decision. Comment `/readiness status` for a "
        "summary.</sub>",
    ]
    return _cap("\n".join(lines))


def render_config_error(*, filename: str, error: str, nonce: str) -> str:
    """No commit in the body: the same error on the next push must not cost another write."""
    at = " on the default branch"
    return "\n".join(
        [
            marker_for(CONFIG_ERROR_KEY, nonce),
            f"{inline(filename)}{at} is invalid, so the readiness checklist was **not** updated:",
            "",
            fenced(error),
            "",
            "Fix the file on the default branch; this issue closes itself once it is valid again.",
        ]
    )


def section_title(template: Template, section: Section) -> str:
    return f"Readiness · {template.title}: {section.title}"


def epic_title(repo: str) -> str:
    return f"Production readiness: {repo}"


CONFIG_ERROR_TITLE = "Readiness: .readiness.yml is invalid"


def parse_checkboxes(body: str | None) -> dict[tuple[str, str], bool]:
    """Item key -> checked, for every bot item line in a body (other lines are ignored as text).

    A bot line is unindented, carries the nonce of the issue's marker, and is the first such line
    for its key; a line with another nonce or none is text, so it cannot shadow the real box. A
    legacy body (a marker without a nonce) is read as it was written: lines without a nonce."""
    nonce = nonce_of(body)
    out: dict[tuple[str, str], bool] = {}
    for m in _ITEM_LINE.finditer(body or ""):
        if m["n"] != nonce:
            continue
        checklist, _, item = m["key"].partition("/")
        if item and (checklist, item) not in out:  # the first line per key is the bot's
            out[(checklist, item)] = m.group(1) in "xX"
    return out


def changed_boxes(
    before: Mapping[tuple[str, str], bool], after: Mapping[tuple[str, str], bool]
) -> dict[tuple[str, str], bool]:
    """Boxes whose checked state differs between two parses (only keys present in both)."""
    return {k: v for k, v in after.items() if k in before and before[k] != v}


def _cap(body: str) -> str:
    if len(body) <= MAX_BODY:
        return body
    return body[: MAX_BODY - 60] + "\n\n*(truncated: this section is too long for one issue)*"
