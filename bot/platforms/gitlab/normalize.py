"""GitLab webhook payloads → the bot's one `Event` (see `bot.webhooks.normalize` for the contract).

Pure and total: unknown hook names become `Kind.IGNORED`, comments on anything but issues too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import snapshot
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.platforms.payload import ci, d, int_, str_

GITLAB = Platform("gitlab")

# GitLab pipeline/job statuses.
_GITLAB_STATUSES = {
    "success": snapshot.SUCCESS,
    "failed": snapshot.FAILURE,
    "canceled": snapshot.CANCELLED,
    "canceling": snapshot.CANCELLED,
    "skipped": snapshot.SKIPPED,
    "manual": snapshot.SKIPPED,  # waits for a person; it has not run
}


def gitlab_conclusion(status: Any) -> str:
    return _GITLAB_STATUSES.get(status, snapshot.PENDING) if isinstance(status, str) else snapshot.PENDING


def _gl_repo(p: dict[str, Any]) -> RepoRef | None:
    project = d(p.get("project"))
    full_name = str_(project.get("path_with_namespace"))
    if not full_name:
        return None
    return RepoRef(
        GITLAB,
        full_name,
        id=int_(project.get("id")) or int_(p.get("project_id")),
        default_branch=str_(project.get("default_branch")),
    )


def _gl_ref(ref: Any, tag: Any) -> str | None:
    ref = str_(ref)
    if not ref or ref.startswith("refs/"):
        return ref
    return f"refs/tags/{ref}" if tag else f"refs/heads/{ref}"


def _gl_push(p: dict[str, Any]) -> dict[str, Any]:
    after = str_(p.get("after"))
    deleted = after is not None and set(after) == {"0"}
    return {
        "action": None,
        "ref": str_(p.get("ref")),
        "commit": str_(p.get("checkout_sha")) or after,
        "extra": {"deleted": deleted, "before": str_(p.get("before"))},
    }


def _gl_issue(p: dict[str, Any]) -> dict[str, Any]:
    attrs = d(p.get("object_attributes"))
    return {
        "action": str_(attrs.get("action")),
        "issue_number": int_(attrs.get("iid")),
        "body": str_(attrs.get("description")),
        "previous_body": str_(d(d(p.get("changes")).get("description")).get("previous")),
    }


def _gl_note(p: dict[str, Any]) -> dict[str, Any]:
    attrs = d(p.get("object_attributes"))
    fields = {
        "action": str_(attrs.get("action")),
        "comment_id": int_(attrs.get("id")),
        "body": str_(attrs.get("note")),
    }
    if attrs.get("noteable_type") in ("Issue", "WorkItem"):
        return {**fields, "issue_number": int_(d(p.get("issue")).get("iid"))}
    return {**fields, "kind": Kind.IGNORED}  # comments on commits / merge requests / snippets


def _gl_pipeline(p: dict[str, Any]) -> dict[str, Any]:
    attrs = d(p.get("object_attributes"))
    url = attrs.get("url")
    raw_builds = p.get("builds")
    builds = [b for b in raw_builds if isinstance(b, dict)] if isinstance(raw_builds, list) else []
    results = [ci(b.get("name"), gitlab_conclusion(b.get("status")), url) for b in builds]
    if not results:
        results = [ci(attrs.get("name") or "pipeline", gitlab_conclusion(attrs.get("status")), url)]
    return {
        "action": str_(attrs.get("status")),
        "ref": _gl_ref(attrs.get("ref"), attrs.get("tag")),
        "commit": str_(attrs.get("sha")),
        "extra": {"ci": results, "pipeline_status": gitlab_conclusion(attrs.get("status"))},
    }


def _gl_job(p: dict[str, Any]) -> dict[str, Any]:
    web_url, build_id = str_(d(p.get("project")).get("web_url")), int_(p.get("build_id"))
    url = f"{web_url}/-/jobs/{build_id}" if web_url and build_id is not None else None
    return {
        "action": str_(p.get("build_status")),
        "ref": _gl_ref(p.get("ref"), p.get("tag")),
        "commit": str_(p.get("sha")),  # not commit.id: that is the pipeline id in Job Hooks
        "extra": {"ci": [ci(p.get("build_name"), gitlab_conclusion(p.get("build_status")), url)]},
    }


_HANDLERS: dict[str, tuple[Kind, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "Push Hook": (Kind.PUSH, _gl_push),
    "Tag Push Hook": (Kind.PUSH, _gl_push),
    "Issue Hook": (Kind.ISSUE_EDITED, _gl_issue),
    "Confidential Issue Hook": (Kind.ISSUE_EDITED, _gl_issue),
    "Note Hook": (Kind.COMMENT, _gl_note),
    "Confidential Note Hook": (Kind.COMMENT, _gl_note),
    "Pipeline Hook": (Kind.CI, _gl_pipeline),
    "Job Hook": (Kind.CI, _gl_job),
}


def normalize(event: str, p: dict[str, Any]) -> Event:
    kind, handler = _HANDLERS.get(event, (Kind.IGNORED, None))
    user = d(p.get("user"))
    fields: dict[str, Any] = (
        handler(p) if handler else {"action": str_(d(p.get("object_attributes")).get("action"))}
    )
    kind = fields.pop("kind", kind)
    return Event(
        platform=GITLAB,
        kind=kind,
        name=event,
        repo=_gl_repo(p),
        sender=str_(user.get("username")) or str_(p.get("user_username")),
        sender_is_bot=user.get("bot") is True,  # GitLab rarely says; compare with the bot login later
        **fields,
    )
