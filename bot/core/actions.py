"""Action: the closed union of every write the bot makes to GitHub or GitLab, as plain data.

Planning functions return these; `bot.apply` is the only code that turns them into platform
calls, and `readiness sync --dry-run` prints them (`describe`) instead. Every kind here has a
planner or handler that produces it: an owned issue is closed or reopened through `Update` (its
desired state) or `Retire`, and a marked comment is adopted, never edited. Issues the bot owns are
named by their key (`epic`, `section:…`) where the number may not exist yet (a second phase).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.tracker import DesiredIssue


@dataclass(frozen=True, slots=True)
class Annotation:
    path: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class CheckReport:
    """A check run (GitHub) or commit status (GitLab) the bot publishes on a commit."""

    name: str
    commit: str
    conclusion: str  # "success" | "failure" | "neutral"
    title: str
    summary: str
    annotations: tuple[Annotation, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Create:
    """Create an owned issue (apply records the intent first and adopts a marked one instead)."""

    issue: DesiredIssue


@dataclass(frozen=True, slots=True)
class Update:
    """Bring an owned issue to `issue` (apply re-reads it first and keeps ticks made meanwhile)."""

    issue: DesiredIssue
    number: int


@dataclass(frozen=True, slots=True)
class Retire:
    """An issue the bot owns that is no longer wanted: comment why, then close it."""

    key: str
    number: int
    comment: str


@dataclass(frozen=True, slots=True)
class LinkChild:
    """Link the owned issue `child_key` under `parent_key` (sub-issue / GitLab link)."""

    parent_key: str
    child_key: str


@dataclass(frozen=True, slots=True)
class EnsureLabels:
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportCheck:
    report: CheckReport


@dataclass(frozen=True, slots=True)
class PostComment:
    """A comment. With a `marker` (a hidden line in `body`), apply first adopts a comment of the
    bot's that already carries it: a retry after a lost answer (a 502 once GitHub or GitLab had
    posted it) does not post it twice."""

    number: int
    body: str
    marker: str | None = None


@dataclass(frozen=True, slots=True)
class React:
    number: int
    comment_id: int
    reaction: str


Action = Create | Update | Retire | LinkChild | EnsureLabels | ReportCheck | PostComment | React


def _ref(number: int) -> str:
    return f"#{number}" if number > 0 else f"(new issue {-number})"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def describe(action: Action) -> str:
    """One human-readable line per action, for `--dry-run` and logs."""
    match action:
        case Create(issue):
            labels = f" with labels {', '.join(issue.labels)}" if issue.labels else ""
            closed = " (closed)" if issue.state == "closed" else ""
            return f"create issue {issue.title!r}{labels}{closed}"
        case Update(issue, number):
            return f"edit {_ref(number)} {issue.title!r} ({issue.state})"
        case Retire(key, number, comment):
            return f"close {_ref(number)} ({key}): {_first_line(comment)}"
        case LinkChild(parent, child):
            return f"link {child} under {parent}"
        case EnsureLabels(labels):
            return f"ensure labels {', '.join(labels)}"
        case ReportCheck(report):
            return f"check {report.name} on {report.commit[:12]}: {report.conclusion}"
        case PostComment(number, body, _):
            return f"comment on {_ref(number)}: {_first_line(body)}"
        case React(number, comment_id, reaction):
            return f"react {reaction} to comment {comment_id} on {_ref(number)}"
    raise TypeError(f"not an Action: {action!r}")  # pragma: no cover - the union is closed
