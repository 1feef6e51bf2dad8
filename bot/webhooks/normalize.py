"""Webhook payloads → the one `Event` the rest of the bot reads (GitHub and GitLab alike).

Pure and total: an authentic payload of an odd shape never raises here; fields that are missing
or of the wrong type stay None, unknown event names become `Kind.IGNORED`, and a payload that
cannot be understood at all (an id beyond 64 bits, an `installation` that is not a mapping) is
`Kind.IGNORED` with `extra["ignored_reason"]`, so the receiver answers 2xx and says why.
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


# Ids are stored in 64-bit signed integer columns (SQLite and PostgreSQL BIGINT): anything
# outside fits nowhere and would fail the commit it is part of.
ID_MIN, ID_MAX = -(2**63), 2**63 - 1
IGNORED_REASON = "ignored_reason"


class Unusable(Exception):
    """The payload is authentic but cannot be turned into an event; the message says why."""


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and ID_MIN <= value <= ID_MAX:
        return value
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def github_conclusion(conclusion: Any) -> str:
    return (
        _GITHUB_CONCLUSIONS.get(conclusion, snapshot.PENDING)
        if isinstance(conclusion, str)
        else snapshot.PENDING
    )


def gitlab_conclusion(status: Any) -> str:
    return _GITLAB_STATUSES.get(status, snapshot.PENDING) if isinstance(status, str) else snapshot.PENDING


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
    state = _str(p.get("state")) or ""
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
    if event == "check_suite":
        name = _d(obj.get("app")).get("name")
    elif event == "workflow_run":
        name = obj.get("name") or _d(p.get("workflow")).get("name") or obj.get("path")
    else:
        name = obj.get("name")
    # a check_run names its branch through its suite
    branch = _str(obj.get("head_branch")) or _str(_d(obj.get("check_suite")).get("head_branch"))
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


def _installation_id(p: dict[str, Any]) -> int | None:
    """The installation id, or Unusable when one is sent but is not a usable id: acting on such a
    delivery without its installation would act on the wrong (or no) tenant."""
    if "installation" not in p or p["installation"] is None:
        return None
    installation = p["installation"]
    if not isinstance(installation, dict):
        raise Unusable("installation is not an object")
    if "id" not in installation:
        return None
    installation_id = _int(installation["id"])
    if installation_id is None:
        raise Unusable("installation.id is not a 64-bit integer")
    return installation_id


def _github(event: str, p: dict[str, Any]) -> Event:
    kind = _GITHUB_KINDS.get(event, Kind.IGNORED)
    installation_id = _installation_id(p)
    sender = _d(p.get("sender"))
    fields: dict[str, Any] = {}
    if kind is Kind.INSTALLATION:
        fields = _gh_installation(p, installation_id)
    elif kind is Kind.PUSH:
        fields = {
            "ref": _str(p.get("ref")),
            "commit": _str(p.get("after")),
            "extra": {"deleted": p.get("deleted") is True, "before": _str(p.get("before"))},
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
    deleted = after is not None and set(after) == {"0"}
    return {
        "action": None,
        "ref": _str(p.get("ref")),
        "commit": _str(p.get("checkout_sha")) or after,
        "extra": {"deleted": deleted, "before": _str(p.get("before"))},
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
    raw_builds = p.get("builds")
    builds = [b for b in raw_builds if isinstance(b, dict)] if isinstance(raw_builds, list) else []
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
    fields: dict[str, Any] = (
        handler(p) if handler else {"action": _str(_d(p.get("object_attributes")).get("action"))}
    )
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


def ignored(platform: str, event: str, reason: str) -> Event:
    """An authentic delivery the bot does not act on, with the reason it gives the sender."""
    return Event(platform=Platform(platform), kind=Kind.IGNORED, name=event, extra={IGNORED_REASON: reason})


def normalize(platform: str, event: str, payload: dict[str, Any]) -> Event:
    """The normalised event for one verified delivery; `event` is the platform's event header.

    Total: it returns an event for every payload (`Kind.IGNORED` with a reason for what it cannot
    use) and raises only for an unknown `platform`, which is the caller's bug."""
    kind = Platform(platform)
    if not isinstance(payload, dict):
        return ignored(platform, event, "body is not a JSON object")
    try:
        return _github(event, payload) if kind is Platform.GITHUB else _gitlab(event, payload)
    except Unusable as exc:
        return ignored(platform, event, str(exc))
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        # A shape no handler above anticipated: still an answer, never a 500 or a dead letter.
        return ignored(platform, event, f"unexpected payload shape ({type(exc).__name__})")
