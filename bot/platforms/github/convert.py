"""GitHub JSON to platform types: issues, comments and CI conclusions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.snapshot import CANCELLED, FAILURE, PENDING, SKIPPED, SUCCESS
from bot.platforms.base import Comment, Issue, PlatformError

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


def blob_query(count: int) -> str:
    """A GraphQL query for `count` blobs, each named by a `<commit>:<path>` variable (`e0`, ...),
    so paths need no escaping inside the query text."""
    params = "".join(f", $e{i}: String!" for i in range(count))
    fields = "".join(
        f"    f{i}: object(expression: $e{i}) {{ ... on Blob {{ text isBinary isTruncated }} }}\n"
        for i in range(count)
    )
    return (
        f"query ($owner: String!, $name: String!{params}) {{\n"
        f"  repository(owner: $owner, name: $name) {{\n{fields}  }}\n}}"
    )


def blob_texts(payload: dict[str, Any], paths: Sequence[str]) -> dict[str, bytes | None]:
    """The files a blob query answered exactly: bytes of text blobs, None where the path does not
    exist. Left out (to be read through REST): binary or truncated blobs, and every path that came
    back null while the response also carries errors. Raises when the query failed as a whole."""
    repository = (payload.get("data") or {}).get("repository")
    errors = payload.get("errors") or []
    if repository is None:
        detail = "; ".join(str(e.get("message", e)) for e in errors[:3]) or "no data"
        raise PlatformError(f"POST /graphql: {detail}")
    out: dict[str, bytes | None] = {}
    for i, path in enumerate(paths):
        blob = repository.get(f"f{i}")
        if blob is None:
            if not errors:  # no object at that path in that commit
                out[path] = None
        elif isinstance(blob.get("text"), str) and not blob.get("isBinary") and not blob.get("isTruncated"):
            out[path] = blob["text"].encode("utf-8")
    return out
