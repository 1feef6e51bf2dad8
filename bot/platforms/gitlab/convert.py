"""Pure translations between GitLab's JSON and the platform-neutral types (no I/O)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from bot.core.snapshot import CANCELLED, FAILURE, PENDING, SKIPPED, SUCCESS, CIResult
from bot.platforms.base import Issue

STATUS_DESCRIPTION_MAX = 255  # GitLab's commit status `description` column limit

# Job and commit-status states -> our conclusions; anything not listed (created, pending,
# running, preparing, waiting_for_resource, scheduled, …) is still in progress.
_CONCLUSIONS = {
    "success": SUCCESS,
    "failed": FAILURE,
    "canceled": CANCELLED,
    "canceling": CANCELLED,
    "skipped": SKIPPED,
    "manual": SKIPPED,
}

# GitHub reaction names (the contract's vocabulary) -> GitLab award emoji names.
REACTIONS = {
    "+1": "thumbsup",
    "-1": "thumbsdown",
    "laugh": "laughing",
    "confused": "confused",
    "heart": "heart",
    "hooray": "tada",
    "rocket": "rocket",
    "eyes": "eyes",
}

# Our check conclusions -> commit status states. "neutral" must not block a merge request.
CHECK_STATES = {"success": "success", "failure": "failed", "neutral": "success"}

_LABEL_COLOURS = ("#1f78d1", "#69d100", "#fc9403", "#8e44ad", "#d9534f", "#5cb85c", "#428bca")


def conclusion(state: str | None) -> str:
    return _CONCLUSIONS.get(state or "", PENDING)


def permission(access_level: int | None) -> str:
    """Project access level -> GitHub-style permission (Planner 15 manages issues: triage)."""
    level = access_level or 0
    for threshold, name in ((50, "admin"), (40, "maintain"), (30, "write"), (15, "triage"), (10, "read")):
        if level >= threshold:
            return name
    return "none"


def label_colour(name: str) -> str:
    """GitLab requires a colour; a stable one per name keeps repeated runs identical."""
    return _LABEL_COLOURS[zlib.crc32(name.encode()) % len(_LABEL_COLOURS)]


def trim(text: str, limit: int = STATUS_DESCRIPTION_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def issue(data: Mapping[str, Any]) -> Issue:
    return Issue(
        number=int(data["iid"]),
        id=int(data["id"]),
        title=data.get("title") or "",
        body=data.get("description") or "",
        state="closed" if data.get("state") == "closed" else "open",
        labels=tuple(data.get("labels") or ()),
        assignees=tuple(a["username"] for a in data.get("assignees") or ()),
        author=(data.get("author") or {}).get("username"),
        url=data.get("web_url"),
        updated_at=data.get("updated_at"),
    )


def work_item(node: Mapping[str, Any]) -> Issue:
    """A GraphQL work item node (`id` global, `iid` a string) when REST did not return it."""
    return Issue(
        number=int(node["iid"]),
        id=int(str(node["id"]).rsplit("/", 1)[1]),
        title=node.get("title") or "",
        body="",
        state="closed" if node.get("state") == "CLOSED" else "open",
        url=node.get("webUrl"),
    )


def ci_results(
    commit: str, jobs: Iterable[Mapping[str, Any]], statuses: Iterable[Mapping[str, Any]], bot_login: str
) -> list[CIResult]:
    """Jobs of the latest pipeline, then commit statuses not already covered by a job name.

    The statuses endpoint also returns CI jobs (they are commit statuses in GitLab), so names
    seen as jobs are skipped; our own statuses (report_check) are skipped so the bot never
    grades itself.
    """
    results = [CIResult(j["name"], conclusion(j.get("status")), j.get("web_url"), commit) for j in jobs]
    seen = {r.name for r in results}
    for s in statuses:
        if s["name"] in seen or (s.get("author") or {}).get("username") == bot_login:
            continue
        seen.add(s["name"])
        results.append(CIResult(s["name"], conclusion(s.get("status")), s.get("target_url"), commit))
    return results
