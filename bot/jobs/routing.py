"""One routing table and the drop-before-any-call rules, as pure functions over `Event`.

Why here: every decision about *whether* an event is worth any API call is made once, before
a platform client is even built, so a CI burst on a pull-request branch costs no calls at all.
The router (`bot.jobs.router.Router`) looks the route up and never branches on event names itself.
"""

from __future__ import annotations

from collections.abc import Container
from enum import StrEnum

from bot.core import commands
from bot.core.events import Event, Kind

ZERO_SHA = "0" * 40
SUMMARY_EVENT = "readiness.summary"


class Route(StrEnum):
    SYNC = "sync"  # recompute the repository's checklist
    TICKS = "ticks"  # record a person's ticks, then sync
    INSTALLATION = "installation"  # onboard the repositories added
    COMMAND = "command"  # a `/readiness` comment
    SUMMARY = "summary"  # the weekly summary


ANY = "*"
# (kind, event name or ANY, action or ANY) -> route; the first match wins (exact before ANY).
ROUTES: dict[tuple[Kind, str, str], Route] = {
    (Kind.SCHEDULE, SUMMARY_EVENT, ANY): Route.SUMMARY,
    (Kind.SCHEDULE, ANY, ANY): Route.SYNC,
    (Kind.COMMENT, ANY, ANY): Route.COMMAND,
    (Kind.INSTALLATION, ANY, ANY): Route.INSTALLATION,
    (Kind.PUSH, ANY, ANY): Route.SYNC,
    (Kind.CI, ANY, ANY): Route.SYNC,
    (Kind.ISSUE_EDITED, ANY, ANY): Route.TICKS,
}


def route(event: Event) -> Route | None:
    """The handler for an event, or None when no handler wants it (ping, ignored, …)."""
    for key in (
        (event.kind, event.name, event.action or ANY),
        (event.kind, event.name, ANY),
        (event.kind, ANY, ANY),
    ):
        if key in ROUTES:
            return ROUTES[key]
    return None


def _branch(ref: str | None) -> str | None:
    return ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None


def drop_reason(
    event: Event,
    *,
    last_synced_commit: str | None = None,
    superseded: Container[str] = (),
    config_status: str | None = None,
) -> str | None:
    """Why this event cannot change anything (a metric label), or None to handle it.

    `last_synced_commit` is the default-branch head the bot synced last; `superseded` are
    earlier heads it synced. A CI result for a commit the bot has not seen is never dropped: it
    may be for a new head whose push has not arrived yet. Pushes are kept whatever they change
    (a `.readiness.yml`-only push on the default branch is exactly what must be synced).
    `config_status` is what the last sync found (`none`: the repository has no configuration and
    the bot owns no issue there); a CI result or an issue edit cannot add one, and the push that
    does is synced on its own, so those are dropped. Unknown (never synced) drops nothing. A
    comment without a `/readiness` command has nothing to answer.
    """
    default = event.repo.default_branch if event.repo else None
    if event.kind is Kind.PUSH:
        if not event.commit or event.commit == ZERO_SHA or event.extra.get("deleted") is True:
            return "push_deleted"
        if default is not None and event.ref != f"refs/heads/{default}":
            return "push_other_branch"
        return None
    if event.kind in (Kind.CI, Kind.ISSUE_EDITED) and config_status == "none":
        return "no_config"
    if event.kind is Kind.CI:
        if event.ref is not None and default is not None and _branch(event.ref) != default:
            return "ci_other_branch"  # another branch, or a tag
        if event.commit and event.commit != last_synced_commit and event.commit in superseded:
            return "ci_stale_commit"
        return None
    if event.kind is Kind.ISSUE_EDITED and event.sender_is_bot:
        return "own_echo"
    if event.kind is Kind.COMMENT and not commands.parse(event.body):
        return "no_command"  # most comments: people talking, nothing for the bot to answer
    return None
