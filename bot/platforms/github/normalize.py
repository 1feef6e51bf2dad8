"""GitHub webhook payloads → the bot's one `Event` (see `bot.webhooks.normalize` for the contract).

Pure and total: unknown event names become `Kind.IGNORED`; an `installation` that is not usable
raises `Unusable`, which the caller turns into an ignored event with the reason.
"""

from __future__ import annotations

from typing import Any

from bot.core import snapshot
from bot.core.events import Event, Kind, Platform, RepoRef
from bot.platforms.payload import Unusable, ci, d, int_, str_

GITHUB = Platform("github")

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


def github_conclusion(conclusion: Any) -> str:
    return (
        _GITHUB_CONCLUSIONS.get(conclusion, snapshot.PENDING)
        if isinstance(conclusion, str)
        else snapshot.PENDING
    )


def _gh_repo(payload: dict[str, Any]) -> RepoRef | None:
    repo = d(payload.get("repository"))
    full_name = str_(repo.get("full_name"))
    if not full_name:
        return None
    return RepoRef(
        GITHUB,
        full_name,
        id=int_(repo.get("id")),
        installation_id=int_(d(payload.get("installation")).get("id")),
        default_branch=str_(repo.get("default_branch")),
    )


def _gh_topics(payload: dict[str, Any]) -> tuple[str, ...] | None:
    """`repository.topics`: a list of lower-case names; None when absent or not such a list."""
    topics = d(payload.get("repository")).get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return None
    return tuple(t.lower() for t in topics)


def _gh_repo_list(items: Any, installation_id: int | None) -> tuple[RepoRef, ...]:
    refs = []
    for item in items if isinstance(items, list) else ():
        full_name = str_(d(item).get("full_name"))
        if full_name:
            refs.append(RepoRef(GITHUB, full_name, int_(item.get("id")), installation_id))
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
    state = str_(p.get("state")) or ""
    return {
        "commit": str_(p.get("sha")),
        "extra": {
            "ci": [ci(p.get("context"), github_conclusion(_GITHUB_STATES.get(state)), p.get("target_url"))]
        },
    }


def _gh_ci(event: str, p: dict[str, Any]) -> dict[str, Any]:
    if event == "status":
        return _gh_status(p)
    obj = d(p.get(event))
    if event == "check_suite":
        name = d(obj.get("app")).get("name")
    elif event == "workflow_run":
        name = obj.get("name") or d(p.get("workflow")).get("name") or obj.get("path")
    else:
        name = obj.get("name")
    # a check_run names its branch through its suite
    branch = str_(obj.get("head_branch")) or str_(d(obj.get("check_suite")).get("head_branch"))
    return {
        "commit": str_(obj.get("head_sha")),
        "ref": f"refs/heads/{branch}" if branch else None,
        "extra": {
            "ci": [
                ci(
                    name,
                    github_conclusion(obj.get("conclusion")),
                    obj.get("html_url") or obj.get("details_url"),
                )
            ]
        },
    }


def _gh_issue(event: str, p: dict[str, Any]) -> dict[str, Any]:
    issue = d(p.get("issue"))
    previous = str_(d(d(p.get("changes")).get("body")).get("from"))
    if event == "issues":
        return {
            "issue_number": int_(issue.get("number")),
            "body": str_(issue.get("body")),
            "previous_body": previous,
        }
    comment = d(p.get("comment"))
    return {
        "issue_number": int_(issue.get("number")),
        "comment_id": int_(comment.get("id")),
        "body": str_(comment.get("body")),
        "previous_body": previous,
    }


def _gh_sub_issues(p: dict[str, Any]) -> dict[str, Any]:
    parent, child = d(p.get("parent_issue")), d(p.get("sub_issue"))
    return {
        "issue_number": int_(parent.get("number")),
        "extra": {"sub_issue_number": int_(child.get("number")), "sub_issue_id": int_(p.get("sub_issue_id"))},
    }


EVENT_KINDS = {
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
    installation_id = int_(installation["id"])
    if installation_id is None:
        raise Unusable("installation.id is not a 64-bit integer")
    return installation_id


def normalize(event: str, p: dict[str, Any]) -> Event:
    kind = EVENT_KINDS.get(event, Kind.IGNORED)
    installation_id = _installation_id(p)
    sender = d(p.get("sender"))
    fields: dict[str, Any] = {}
    if kind is Kind.INSTALLATION:
        fields = _gh_installation(p, installation_id)
    elif kind is Kind.PUSH:
        fields = {
            "ref": str_(p.get("ref")),
            "commit": str_(p.get("after")),
            "extra": {"deleted": p.get("deleted") is True, "before": str_(p.get("before"))},
        }
    elif kind is Kind.CI:
        fields = _gh_ci(event, p)
    elif event in ("issues", "issue_comment"):
        fields = _gh_issue(event, p)
        if event == "issue_comment" and "pull_request" in d(p.get("issue")):
            kind = Kind.IGNORED  # comments on pull requests are not checklist commands
    elif event == "sub_issues":
        fields = _gh_sub_issues(p)
    return Event(
        platform=GITHUB,
        kind=kind,
        name=event,
        action=str_(p.get("action")),
        repo=_gh_repo(p),
        installation_id=installation_id,
        sender=str_(sender.get("login")),
        sender_is_bot=sender.get("type") == "Bot",
        topics=_gh_topics(p),
        **fields,
    )
