"""The readiness report of `readiness check`: one model, four renderings (text, json, markdown, sarif).

The model is plain data built from item verdicts, so every format says exactly the same thing.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from rich.console import Console
from rich.text import Text

from bot import __version__
from bot.core.state import Status

JSON_SCHEMA_ID = "readiness-report/v1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/readiness-bot/readiness-bot"
_MARKS = {Status.AUTO: "✓", Status.DONE: "✓", Status.OPEN: "✗", Status.SKIPPED: "–"}


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts for a section, checklist or the whole report; skipped items are not applicable."""

    done: int = 0
    skipped: int = 0
    total: int = 0

    @property
    def applicable(self) -> int:
        return self.total - self.skipped

    @property
    def open(self) -> int:
        return self.applicable - self.done

    @property
    def percent(self) -> float:
        return 100.0 if self.applicable == 0 else 100.0 * self.done / self.applicable

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.done + other.done, self.skipped + other.skipped, self.total + other.total)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "done": self.done,
            "open": self.open,
            "skipped": self.skipped,
            "total": self.total,
            "percent": round(self.percent, 1),
        }


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    title: str
    status: Status
    manual: bool
    evidence: str | None = None  # why it ticked
    reason: str | None = None  # why it was skipped
    why: str | None = None
    missing: str | None = None  # for an open automatic item: what was looked for and not found
    applicable: bool = True  # False: the template's `applies_when` rules it out (status SKIPPED)

    @property
    def ticked(self) -> bool:
        return self.status in (Status.AUTO, Status.DONE)


@dataclass(frozen=True, slots=True)
class SectionResult:
    id: str
    title: str
    items: tuple[ItemResult, ...]

    @property
    def tally(self) -> Tally:
        return Tally(
            done=sum(i.ticked for i in self.items),
            skipped=sum(i.status is Status.SKIPPED for i in self.items),
            total=len(self.items),
        )


@dataclass(frozen=True, slots=True)
class ChecklistResult:
    id: str
    title: str
    sections: tuple[SectionResult, ...]
    source: str = ""  # "shipped" or the template's path in the repository

    @property
    def tally(self) -> Tally:
        return sum((s.tally for s in self.sections), Tally())


@dataclass(frozen=True, slots=True)
class Report:
    checklists: tuple[ChecklistResult, ...]
    notes: tuple[str, ...] = ()  # what the reader should know: default config, ignored keys, files seen
    target: str = "."
    commit: str | None = None
    files: int = 0
    config_file: str | None = None  # repository-relative, used as the SARIF location

    @property
    def tally(self) -> Tally:
        return sum((c.tally for c in self.checklists), Tally())


# ---------------------------------------------------------------------------------------------- json


def to_json_data(report: Report) -> dict[str, object]:
    """The stable, documented JSON shape (`readiness-report/v1`; fields are only ever added)."""
    return {
        "schema": JSON_SCHEMA_ID,
        "target": report.target,
        "commit": report.commit,
        "files": report.files,
        "config": report.config_file,
        "notes": list(report.notes),
        "summary": report.tally.as_dict(),
        "checklists": [
            {
                "id": c.id,
                "title": c.title,
                "source": c.source,
                "summary": c.tally.as_dict(),
                "sections": [
                    {
                        "id": s.id,
                        "title": s.title,
                        "summary": s.tally.as_dict(),
                        "items": [
                            {
                                "id": i.id,
                                "title": i.title,
                                "status": i.status.value,
                                "manual": i.manual,
                                "evidence": i.evidence,
                                "reason": i.reason,
                                "missing": i.missing,
                                "applicable": i.applicable,
                            }
                            for i in s.items
                        ],
                    }
                    for s in c.sections
                ],
            }
            for c in report.checklists
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(to_json_data(report), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------- text


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def terminal_safe(text: str) -> str:
    """Control characters (ESC sequences, BEL, newlines, C1 codes) and bidi overrides from file
    names and templates shown as escapes, so what a repository holds cannot drive the terminal
    or break one line in two."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _bar(percent: float, width: int) -> Text:
    filled = round(width * percent / 100)
    bar = Text("█" * filled, style="green")
    bar.append("░" * (width - filled), style="bright_black")
    return bar


def _counts(t: Tally) -> str:
    text = f"{t.done}/{t.applicable} {t.percent:3.0f}%"
    return text + (f" ({t.skipped} skipped)" if t.skipped else "")


def render_text(report: Report, *, color: bool = False, width: int = 100) -> str:
    """Human report: a progress bar per checklist and section, a mark and the evidence per item."""
    out = io.StringIO()
    # with colour, rich still honours NO_COLOR from the environment
    console = Console(
        file=out, force_terminal=color, no_color=None if color else True, width=width, highlight=False
    )
    for note in report.notes:
        console.print(Text(f"note: {terminal_safe(note)}", style="dim"))
    if report.notes:
        console.print()
    for checklist in report.checklists:
        t = checklist.tally
        head = Text.assemble(
            (terminal_safe(checklist.title), "bold"), (f"  [{terminal_safe(checklist.id)}]", "dim")
        )
        console.print(head)
        console.print(Text.assemble("  ", _bar(t.percent, 30), f"  {_counts(t)}"))
        for section in checklist.sections:
            st = section.tally
            title = terminal_safe(section.title)
            label = title if len(title) <= 44 else title[:43] + "…"
            console.print(
                Text.assemble("  ", (f"{label:<45}", "bold"), _bar(st.percent, 16), f" {_counts(st)}")
            )
            for item in section.items:
                console.print(_item_line(item, width))
        console.print()
    t = report.tally
    summary = f"Overall: {t.done} of {t.applicable} applicable items done ({t.percent:.0f}%)"
    if t.skipped:
        summary += f", {t.skipped} skipped"
    summary += f"; {len(report.checklists)} checklist(s) over {report.files} files"
    if report.commit:
        summary += f" at {report.commit[:7]}"
    console.print(Text(summary, style="bold"))
    return out.getvalue()


def _item_line(item: ItemResult, width: int) -> Text:
    style = {Status.AUTO: "green", Status.DONE: "green", Status.OPEN: "red", Status.SKIPPED: "yellow"}
    line = Text.assemble("    ", (_MARKS[item.status], style[item.status]), " ", terminal_safe(item.title))
    if item.ticked and item.evidence:
        line.append(f" — {terminal_safe(item.evidence)}", style="dim")
    elif item.status is Status.SKIPPED and not item.applicable:
        line.append(f" — not applicable ({terminal_safe(item.reason or '')})", style="dim")
    elif item.status is Status.SKIPPED:
        line.append(f" — skipped: {terminal_safe(item.reason or '')}", style="yellow")
    elif item.manual:
        line.append(" (manual)", style="dim")
    elif item.missing:  # one line at most: the full text is in the json/markdown/sarif reports
        room = width - len(line) - 3
        if room >= 20:
            missing = terminal_safe(item.missing)
            missing = missing if len(missing) <= room else missing[: room - 1] + "…"
            line.append(f" — {missing}", style="dim")
    return line


# ------------------------------------------------------------------------------------------ markdown


def _md(text: str) -> str:
    """Escape what would change the meaning of a table cell or a list line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def render_markdown(report: Report) -> str:
    t = report.tally
    lines = [
        "# Readiness report",
        "",
        f"**{t.percent:.0f}%** ready: {t.done} of {t.applicable} applicable items done"
        + (f", {t.skipped} skipped" if t.skipped else "")
        + (f" (commit `{report.commit[:7]}`)" if report.commit else "")
        + ".",
        "",
        "| Checklist | Done | Open | Skipped | Ready |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in report.checklists:
        ct = c.tally
        lines.append(
            f"| {_md(c.title)} (`{c.id}`) | {ct.done} | {ct.open} | {ct.skipped} | {ct.percent:.0f}% |"
        )
    if report.notes:
        lines.append("")
        lines.extend(f"> {_md(note)}  " for note in report.notes)
    for c in report.checklists:
        lines += ["", f"## {_md(c.title)} — {_counts(c.tally)}"]
        for s in c.sections:
            lines += ["", f"### {_md(s.title)} — {_counts(s.tally)}", ""]
            for i in s.items:
                box = "x" if i.ticked else " "
                if i.status is Status.SKIPPED and not i.applicable:
                    lines.append(f"- [ ] ~~{_md(i.title)}~~ — not applicable ({_md(i.reason or '')})")
                elif i.status is Status.SKIPPED:
                    lines.append(f"- [ ] ~~{_md(i.title)}~~ — skipped: {_md(i.reason or '')}")
                elif i.ticked:
                    lines.append(f"- [{box}] {_md(i.title)} — {_md(i.evidence or 'done')}")
                else:
                    lines.append(f"- [{box}] {_md(i.title)}" + (" _(manual)_" if i.manual else ""))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- sarif


def to_sarif_data(report: Report, *, level: str = "warning") -> dict[str, object]:
    """SARIF 2.1.0: one result per open automatic item, so code-scanning UIs can list them.

    Findings are about the repository, not a line of code, so each points at the config file
    (line 1) and carries a stable fingerprint: the `<checklist>/<item>` id.
    """
    rules: list[dict[str, object]] = []
    results: list[dict[str, object]] = []
    location = report.config_file or ".readiness.yml"
    for c in report.checklists:
        for s in c.sections:
            for i in s.items:
                if i.manual or not i.applicable:  # nothing to find for an item that does not apply
                    continue
                rule_id = f"{c.id}/{i.id}"
                rules.append(
                    {
                        "id": rule_id,
                        "name": i.id,
                        "shortDescription": {"text": i.title},
                        "fullDescription": {"text": i.why or i.title},
                        "help": {"text": f"{c.title} › {s.title}: {i.title}. {i.why or ''}".strip()},
                        "properties": {"checklist": c.id, "section": s.id, "tags": ["readiness", c.id]},
                    }
                )
                if i.status is not Status.OPEN:
                    continue
                results.append(
                    {
                        "ruleId": rule_id,
                        "ruleIndex": len(rules) - 1,
                        "level": level,
                        "message": {
                            "text": f"{i.title}: {i.missing or 'no evidence found'} ({c.title} › {s.title})"
                        },
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": location},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                        "partialFingerprints": {"readinessItem/v1": rule_id},
                    }
                )
    run: dict[str, object] = {
        "tool": {"driver": _driver(rules)},
        "results": results,
    }
    if report.commit:
        run["properties"] = {"commit": report.commit}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _driver(rules: list[dict[str, object]]) -> dict[str, object]:
    return {
        "name": "readiness",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": TOOL_URI,
        "rules": rules,
    }


def render_sarif(report: Report) -> str:
    return json.dumps(to_sarif_data(report), indent=2, ensure_ascii=False) + "\n"


CONFIG_ERROR_RULE = "readiness/configuration-error"


def sarif_error_data(
    message: str, *, file: str | None, line: int | None = None, column: int | None = None
) -> dict[str, object]:
    """SARIF 2.1.0 for a run that could not evaluate anything (bad config, missing file).

    An upload step after a failed `readiness check --format sarif` then shows the error in the
    code-scanning UI instead of failing on an empty file. The run is marked unsuccessful.
    """
    region: dict[str, int] = {"startLine": line or 1}
    if column:
        region["startColumn"] = column
    result: dict[str, object] = {
        "ruleId": CONFIG_ERROR_RULE,
        "ruleIndex": 0,
        "level": "error",
        "message": {"text": message},
    }
    if file:
        uri = PurePath(file).as_uri() if PurePath(file).is_absolute() else PurePath(file).as_posix()
        result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}]
    rule: dict[str, object] = {
        "id": CONFIG_ERROR_RULE,
        "name": "configuration-error",
        "shortDescription": {"text": "readiness could not read its configuration or input"},
        "help": {"text": "Fix the file named in the message; `readiness validate` checks it locally."},
        "defaultConfiguration": {"level": "error"},
    }
    run = {
        "tool": {"driver": _driver([rule])},
        "invocations": [
            {
                "executionSuccessful": False,
                "exitCode": 2,
                "toolExecutionNotifications": [{"level": "error", "message": {"text": message}}],
            }
        ],
        "results": [result],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown, "sarif": render_sarif}


def item_results(
    items: Iterable[tuple[str, str, bool, str | None]],
    verdicts: Mapping[str, tuple[bool, str | None]],
    skips: Mapping[str, str],
    not_applicable: Mapping[str, str] | None = None,
) -> Sequence[ItemResult]:
    """Combine items (id, title, manual, why) with verdicts (passed, evidence), configured skips
    and the items that do not apply (item id -> why not): neither kind counts toward progress."""
    results = []
    ruled_out = not_applicable or {}
    for item_id, title, manual, why in items:
        if item_id in skips:
            results.append(ItemResult(item_id, title, Status.SKIPPED, manual, reason=skips[item_id], why=why))
            continue
        if item_id in ruled_out:
            results.append(
                ItemResult(
                    item_id,
                    title,
                    Status.SKIPPED,
                    manual,
                    reason=ruled_out[item_id],
                    why=why,
                    applicable=False,
                )
            )
            continue
        passed, evidence = verdicts.get(item_id, (False, None))
        if passed:
            results.append(ItemResult(item_id, title, Status.AUTO, manual, evidence=evidence, why=why))
        else:
            results.append(ItemResult(item_id, title, Status.OPEN, manual, why=why, missing=evidence))
    return results
