"""Webhook payloads → the one `Event` the rest of the bot reads (GitHub and GitLab alike).

Pure and total: an authentic payload of an odd shape never raises here; fields that are missing
stay None and unknown event names become `Kind.IGNORED`, so the receiver can still answer 2xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import snapshot
from bot.core.events import Event, Kind, Platform, RepoRef

# GitHub check/workflow conclusions → the snapshot's constants (None = not finished yet).
_GITHUB_CONCLUSIONS = {
    "success": snapshot.SUCCESS,
    "neutral": snapshot.SUCCESS,  # branch protection treats neutral as passing
    "failure": snapshot.FAILURE,
    "timed_out": snapshot.FAILURE,
    "action_required": snapshot.FAILURE,
    "startup_failure": snapshot.FAILURE,
    "cancelled": snapshot.CANCELLED,
    "skipped": snapshot.SKIPPED,
    "stale": snapshot.PENDING,
}
# GitLab pipeline/job statuses.
_GITLAB_STATUSES = {
    "success": snapshot.SUCCESS,
    "failed": snapshot.FAILURE,
    "canceled": snapshot.CANCELLED,
    "canceling": snapshot.CANCELLED,
    "skipped": snapshot.SKIPPED,
    "manual": snapshot.SKIPPED,  # waits for a person; it has not run
}


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def github_conclusion(conclusion: Any) -> str:
    return _GITHUB_CONCLUSIONS.get(conclusion, snapshot.PENDING) if conclusion else snapshot.PENDING


def gitlab_conclusion(status: Any) -> str:
    return _GITLAB_STATUSES.get(status, snapshot.PENDING)


def _ci(name: Any, conclusion: str, url: Any) -> dict[str, Any]:
    return {"name": _str(name) or "", "conclusion": conclusion, "url": _str(url)}


# ---------------------------------------------------------------- GitHub


def _gh_repo(payload: dict[str, Any]) -> RepoRef | None:
    repo = _d(payload.get("repository"))
    full_name = _str(repo.get("full_name"))
    if not full_name:
        return None
    return RepoRef(
        Platform.GITHUB,
        full_name,
        id=_int(repo.get("id")),
        installation_id=_int(_d(payload.get("installation")).get("id")),
        default_branch=_str(repo.get("default_branch")),
    )


def _gh_repo_list(items: Any, installation_id: int | None) -> tuple[RepoRef, ...]:
    refs = []
    for item in items if isinstance(items, list) else ():
        full_name = _str(_d(item).get("full_name"))
        if full_name:
            refs.append(RepoRef(Platform.GITHUB, full_name, _int(item.get("id")), installation_id))
    return tuple(refs)


def _gh_installation(p: dict[str, Any], installation_id: int | None) -> dict[str, Any]:
    if "repositories_added" in p or "repositories_removed" in p:  # installation_repositories
        return {
            "repos_added": _gh_repo_list(p.get("repositories_added"), installation_id),
            "repos_removed": _gh_repo_list(p.get("repositories_removed"), installation_id),
        }
    repos = _gh_repo_list(p.get("repositories"), installation_id)
    if p.get("action") == "deleted":
        return {"repos_removed": repos}
    return {"repos_added": repos} if p.get("action") in ("created", "new_permissions_accepted") else {}


_GITHUB_STATES = {"success": "success", "failure": "failure", "error": "failure"}


def _gh_status(p: dict[str, Any]) -> dict[str, Any]:
    """A commit status (external CI): `state` is pending|success|failure|error."""
    state = p.get("state")
    return {
        "commit": _str(p.get("sha")),
        "extra": {
            "ci": [_ci(p.get("context"), github_conclusion(_GITHUB_STATES.get(state)), p.get("target_url"))]
        },
    }


def _gh_ci(event: str, p: dict[str, Any]) -> dict[str, Any]:
    if event == "status":
        return _gh_status(p)
    obj = _d(p.get(event))
    name = _d(obj.get("app")).get("name") if event == "check_suite" else obj.get("name")
    branch = _str(obj.get("head_branch"))
    return {
        "commit": _str(obj.get("head_sha")),
        "ref": f"refs/heads/{branch}" if branch else None,
        "extra": {
            "ci": [
                _ci(
                    name,
                    github_conclusion(obj.get("conclusion")),
                    obj.get("html_url") or obj.get("details_url"),
                )
            ]
        },
    }


def _gh_issue(event: str, p: dict[str, Any]) -> dict[str, Any]:
    issue = _d(p.get("issue"))
    previous = _str(_d(_d(p.get("changes")).get("body")).get("from"))
    if event == "issues":
        return {
            "issue_number": _int(issue.get("number")),
            "body": _str(issue.get("body")),
            "previous_body": previous,
        }
    comment = _d(p.get("comment"))
    return {
        "issue_number": _int(issue.get("number")),
        "comment_id": _int(comment.get("id")),
        "body": _str(comment.get("body")),
        "previous_body": previous,
    }


def _gh_sub_issues(p: dict[str, Any]) -> dict[str, Any]:
    parent, child = _d(p.get("parent_issue")), _d(p.get("sub_issue"))
    return {
        "issue_number": _int(parent.get("number")),
        "extra": {"sub_issue_number": _int(child.get("number")), "sub_issue_id": _int(p.get("sub_issue_id"))},
    }


_GITHUB_KINDS = {
    "ping": Kind.PING,
    "installation": Kind.INSTALLATION,
    "installation_repositories": Kind.INSTALLATION,
    "push": Kind.PUSH,
    "check_run": Kind.CI,
    "check_suite": Kind.CI,
    "status": Kind.CI,
    "issues": Kind.ISSUE_EDITED,
    "issue_comment": Kind.COMMENT,
    "sub_issues": Kind.ISSUE_EDITED,
}


def _github(event: str, p: dict[str, Any]) -> Event:
    kind = _GITHUB_KINDS.get(event, Kind.IGNORED)
    installation_id = _int(_d(p.get("installation")).get("id"))
    sender = _d(p.get("sender"))
    fields: dict[str, Any] = {}
    if kind is Kind.INSTALLATION:
        fields = _gh_installation(p, installation_id)
    elif kind is Kind.PUSH:
        fields = {
            "ref": _str(p.get("ref")),
            "commit": _str(p.get("after")),
            "extra": {"deleted": p.get("deleted") is True},
        }
    elif kind is Kind.CI:
        fields = _gh_ci(event, p)
    elif event in ("issues", "issue_comment"):
        fields = _gh_issue(event, p)
        if event == "issue_comment" and "pull_request" in _d(p.get("issue")):
            kind = Kind.IGNORED  # comments on pull requests are not checklist commands
    elif event == "sub_issues":
        fields = _gh_sub_issues(p)
    return Event(
        platform=Platform.GITHUB,
        kind=kind,
        name=event,
        action=_str(p.get("action")),
        repo=_gh_repo(p),
        installation_id=installation_id,
        sender=_str(sender.get("login")),
        sender_is_bot=sender.get("type") == "Bot",
        **fields,
    )


# ---------------------------------------------------------------- GitLab


def _gl_repo(p: dict[str, Any]) -> RepoRef | None:
    project = _d(p.get("project"))
    full_name = _str(project.get("path_with_namespace"))
    if not full_name:
        return None
    return RepoRef(
        Platform.GITLAB,
        full_name,
        id=_int(project.get("id")) or _int(p.get("project_id")),
        default_branch=_str(project.get("default_branch")),
    )


def _gl_ref(ref: Any, tag: Any) -> str | None:
    ref = _str(ref)
    if not ref or ref.startswith("refs/"):
        return ref
    return f"refs/tags/{ref}" if tag else f"refs/heads/{ref}"


def _gl_push(p: dict[str, Any]) -> dict[str, Any]:
    after = _str(p.get("after"))
    deleted = bool(after) and set(after) == {"0"}
    return {
        "action": None,
        "ref": _str(p.get("ref")),
        "commit": _str(p.get("checkout_sha")) or after,
        "extra": {"deleted": deleted},
    }


def _gl_issue(p: dict[str, Any]) -> dict[str, Any]:
    attrs = _d(p.get("object_attributes"))
    return {
        "action": _str(attrs.get("action")),
        "issue_number": _int(attrs.get("iid")),
        "body": _str(attrs.get("description")),
        "previous_body": _str(_d(_d(p.get("changes")).get("description")).get("previous")),
    }


def _gl_note(p: dict[str, Any]) -> dict[str, Any]:
    attrs = _d(p.get("object_attributes"))
    fields = {
        "action": _str(attrs.get("action")),
        "comment_id": _int(attrs.get("id")),
        "body": _str(attrs.get("note")),
    }
    if attrs.get("noteable_type") in ("Issue", "WorkItem"):
        return {**fields, "issue_number": _int(_d(p.get("issue")).get("iid"))}
    return {**fields, "kind": Kind.IGNORED}  # comments on commits / merge requests / snippets


def _gl_pipeline(p: dict[str, Any]) -> dict[str, Any]:
    attrs = _d(p.get("object_attributes"))
    url = attrs.get("url")
    builds = [_d(b) for b in p.get("builds") or () if isinstance(b, dict)]
    ci = [_ci(b.get("name"), gitlab_conclusion(b.get("status")), url) for b in builds]
    if not ci:
        ci = [_ci(attrs.get("name") or "pipeline", gitlab_conclusion(attrs.get("status")), url)]
    return {
        "action": _str(attrs.get("status")),
        "ref": _gl_ref(attrs.get("ref"), attrs.get("tag")),
        "commit": _str(attrs.get("sha")),
        "extra": {"ci": ci, "pipeline_status": gitlab_conclusion(attrs.get("status"))},
    }


def _gl_job(p: dict[str, Any]) -> dict[str, Any]:
    web_url, build_id = _str(_d(p.get("project")).get("web_url")), _int(p.get("build_id"))
    url = f"{web_url}/-/jobs/{build_id}" if web_url and build_id is not None else None
    return {
        "action": _str(p.get("build_status")),
        "ref": _gl_ref(p.get("ref"), p.get("tag")),
        "commit": _str(p.get("sha")),  # not commit.id: that is the pipeline id in Job Hooks
        "extra": {"ci": [_ci(p.get("build_name"), gitlab_conclusion(p.get("build_status")), url)]},
    }


_GITLAB_HANDLERS: dict[str, tuple[Kind, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "Push Hook": (Kind.PUSH, _gl_push),
    "Tag Push Hook": (Kind.PUSH, _gl_push),
    "Issue Hook": (Kind.ISSUE_EDITED, _gl_issue),
    "Confidential Issue Hook": (Kind.ISSUE_EDITED, _gl_issue),
    "Note Hook": (Kind.COMMENT, _gl_note),
    "Confidential Note Hook": (Kind.COMMENT, _gl_note),
    "Pipeline Hook": (Kind.CI, _gl_pipeline),
    "Job Hook": (Kind.CI, _gl_job),
}


def _gitlab(event: str, p: dict[str, Any]) -> Event:
    kind, handler = _GITLAB_HANDLERS.get(event, (Kind.IGNORED, None))
    user = _d(p.get("user"))
    fields = handler(p) if handler else {"action": _str(_d(p.get("object_attributes")).get("action"))}
    kind = fields.pop("kind", kind)
    return Event(
        platform=Platform.GITLAB,
        kind=kind,
        name=event,
        repo=_gl_repo(p),
        sender=_str(user.get("username")) or _str(p.get("user_username")),
        sender_is_bot=user.get("bot") is True,  # GitLab rarely says; compare with the bot login later
        **fields,
    )


def normalize(platform: str, event: str, payload: dict[str, Any]) -> Event:
    """The normalised event for one verified delivery; `event` is the platform's event header."""
    if not isinstance(payload, dict):
        payload = {}
    if Platform(platform) is Platform.GITHUB:
        return _github(event, payload)
    return _gitlab(event, payload)
