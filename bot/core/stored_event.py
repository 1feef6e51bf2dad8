"""A normalised `Event` as plain JSON data, so a delivery is normalised once, at the receiver.

The receiver stores this beside the raw body; the worker reads it back instead of decoding and
normalising the body again. The data carries `FORMAT`; `from_data` returns None for anything it
does not recognise exactly (another format, a missing or extra field, a wrong type), and the
caller then normalises the raw body as before. So rows stored before this existed, by an older
bot, or by a newer one during a rolling upgrade, are still processed correctly.

Bump `FORMAT` whenever `Event` changes or a platform's normaliser would now read the same payload
differently: rows queued under the old format are then normalised afresh from their bodies.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from bot.core.events import Event, Kind, Platform, RepoRef

FORMAT = 2  # 2: `topics`

_REPO_FIELDS = ("platform", "full_name", "id", "installation_id", "default_branch")
_EVENT_FIELDS = tuple(f.name for f in fields(Event))
_KINDS = {k.value: k for k in Kind}
_OPTIONAL_STR = ("name", "action", "sender", "ref", "commit", "body", "previous_body")
_OPTIONAL_INT = ("installation_id", "issue_number", "comment_id")


def _repo(ref: RepoRef) -> list[Any]:
    return [ref.platform, ref.full_name, ref.id, ref.installation_id, ref.default_branch]


def to_data(event: Event, account: str | None) -> dict[str, Any]:
    """The event and its installation account as JSON-ready data (lists, dicts, scalars)."""
    return {
        "format": FORMAT,
        "account": account,
        "event": {
            "platform": event.platform,
            "kind": event.kind.value,
            "name": event.name,
            "action": event.action,
            "repo": None if event.repo is None else _repo(event.repo),
            "installation_id": event.installation_id,
            "sender": event.sender,
            "sender_is_bot": event.sender_is_bot,
            "ref": event.ref,
            "commit": event.commit,
            "issue_number": event.issue_number,
            "comment_id": event.comment_id,
            "body": event.body,
            "previous_body": event.previous_body,
            "repos_added": [_repo(r) for r in event.repos_added],
            "repos_removed": [_repo(r) for r in event.repos_removed],
            "extra": event.extra,
            "topics": None if event.topics is None else list(event.topics),
        },
    }


def _int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _ref(value: Any) -> RepoRef | None:
    if not isinstance(value, list) or len(value) != len(_REPO_FIELDS):
        return None
    platform, full_name, id_, installation_id, default_branch = value
    if not (isinstance(platform, str) and isinstance(full_name, str) and _int(id_)):
        return None
    if not (_int(installation_id) and _str(default_branch)):
        return None
    return RepoRef(Platform(platform), full_name, id_, installation_id, default_branch)


def _refs(value: Any) -> tuple[RepoRef, ...] | None:
    if not isinstance(value, list):
        return None
    refs = [_ref(item) for item in value]
    return None if any(r is None for r in refs) else tuple(r for r in refs if r is not None)


def from_data(data: Any) -> tuple[Event, str | None] | None:
    """The event and account `to_data` made, or None when `data` is not exactly that format."""
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or set(data) != {"format", "account", "event"}
    ):
        return None
    raw, account = data["event"], data["account"]
    if not isinstance(raw, dict) or set(raw) != set(_EVENT_FIELDS) or not _str(account):
        return None
    kind = _KINDS.get(raw["kind"]) if isinstance(raw["kind"], str) else None
    if kind is None or not isinstance(raw["platform"], str) or not isinstance(raw["name"], str):
        return None
    if not all(_str(raw[k]) for k in _OPTIONAL_STR) or not all(_int(raw[k]) for k in _OPTIONAL_INT):
        return None
    repo = None if raw["repo"] is None else _ref(raw["repo"])
    added, removed = _refs(raw["repos_added"]), _refs(raw["repos_removed"])
    if (raw["repo"] is not None and repo is None) or added is None or removed is None:
        return None
    if not isinstance(raw["sender_is_bot"], bool) or not isinstance(raw["extra"], dict):
        return None
    topics = raw["topics"]
    if topics is not None and not (isinstance(topics, list) and all(isinstance(t, str) for t in topics)):
        return None
    event = Event(
        platform=Platform(raw["platform"]),
        kind=kind,
        name=raw["name"],
        action=raw["action"],
        repo=repo,
        installation_id=raw["installation_id"],
        sender=raw["sender"],
        sender_is_bot=raw["sender_is_bot"],
        ref=raw["ref"],
        commit=raw["commit"],
        issue_number=raw["issue_number"],
        comment_id=raw["comment_id"],
        body=raw["body"],
        previous_body=raw["previous_body"],
        repos_added=added,
        repos_removed=removed,
        extra=raw["extra"],
        topics=None if topics is None else tuple(topics),
    )
    return event, account
