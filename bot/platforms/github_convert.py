"""GitHub JSON to platform types: issues, comments and CI conclusions."""

from __future__ import annotations

from typing import Any

from bot.core.snapshot import CANCELLED, FAILURE, PENDING, SKIPPED, SUCCESS
from bot.platforms.base import Comment, Issue

CHECK_CONCLUSIONS = {
    "success": SUCCESS,
    "neutral": SUCCESS,  # branch protection treats neutral as passing
    "failure": FAILURE,
    "timed_out": FAILURE,
    "startup_failure": FAILURE,
    "action_required": FAILURE,
    "cancelled": CANCELLED,
    "stale": CANCELLED,
    "skipped": SKIPPED,
}
STATUS_STATES = {"success": SUCCESS, "failure": FAILURE, "error": FAILURE, "pending": PENDING}


def issue(data: dict[str, Any]) -> Issue:
    return Issue(
        number=int(data["number"]),
        id=int(data["id"]),
        title=data["title"],
        body=data.get("body") or "",
        state=data["state"],
        labels=tuple(label["name"] if isinstance(label, dict) else label for label in data.get("labels", [])),
        assignees=tuple(a["login"] for a in data.get("assignees") or []),
        author=(data.get("user") or {}).get("login"),
        url=data.get("html_url"),
        updated_at=data.get("updated_at"),
    )


def comment(data: dict[str, Any]) -> Comment:
    return Comment(
        id=int(data["id"]),
        body=data.get("body") or "",
        author=(data.get("user") or {}).get("login"),
        url=data.get("html_url"),
    )


def check_conclusion(run: dict[str, Any]) -> str:
    if run.get("status") != "completed":
        return PENDING
    return CHECK_CONCLUSIONS.get(run.get("conclusion") or "", PENDING)


def label_colour(name: str) -> str:
    """A stable colour per label name, so the same label looks the same in every repository."""
    return f"{sum(name.encode()) * 2654435761 % 0xFFFFFF:06x}"
