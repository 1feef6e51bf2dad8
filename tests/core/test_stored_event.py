"""The stored form of a normalised event: what goes in comes out, and nothing else is accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core import stored_event
from bot.core.events import Event, Kind, Platform, RepoRef

GH = Platform("github")
REPO = RepoRef(GH, "octo-org/widgets", id=1296269, installation_id=7, default_branch="main")
RICH = Event(
    platform=GH,
    kind=Kind.ISSUE_EDITED,
    name="issues",
    action="edited",
    repo=REPO,
    installation_id=7,
    sender="alice",
    sender_is_bot=False,
    ref="refs/heads/main",
    commit="c0ffee",
    issue_number=12,
    comment_id=None,
    body="- [x] done <!-- readiness:item a -->\n\u00e9\u2713",
    previous_body="- [ ] done <!-- readiness:item a -->",
    repos_added=(RepoRef(GH, "octo-org/api", id=2),),
    repos_removed=(RepoRef(GH, "octo-org/old", id=3, installation_id=7),),
    extra={"ci": [{"name": "test", "conclusion": "success", "url": None}], "before": "abc"},
    topics=("library", "http-client"),
)


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


@pytest.mark.parametrize(
    "event",
    [
        RICH,
        Event(GH, Kind.PING, "ping"),
        Event(Platform("gitlab"), Kind.PUSH, "Push Hook", repo=REPO),
        Event(GH, Kind.PUSH, "push", repo=REPO, topics=()),  # no topics is not "unknown"
    ],
)
def test_an_event_and_its_account_come_back_unchanged(event: Event) -> None:
    assert stored_event.from_data(through_json(stored_event.to_data(event, "octo-org"))) == (
        event,
        "octo-org",
    )
    assert stored_event.from_data(through_json(stored_event.to_data(event, None))) == (event, None)


def edited(change: dict[str, Any], *, top: dict[str, Any] | None = None) -> Any:
    data = through_json(stored_event.to_data(RICH, "octo-org"))
    data["event"].update(change)
    data.update(top or {})
    return data


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "event",
        edited({}, top={"format": stored_event.FORMAT + 1}),  # a newer bot's rows
        edited({}, top={"format": 0}),
        edited({}, top={"more": 1}),
        edited({"kind": "teleport"}),
        edited({"platform": 7}),
        edited({"issue_number": "12"}),
        edited({"issue_number": True}),
        edited({"sender_is_bot": "no"}),
        edited({"repo": ["github", "octo-org/widgets"]}),
        edited({"repos_added": [["github", "x/y", "1", None, None]]}),
        edited({"extra": []}),
        edited({"new_field": 1}),
    ],
)
def test_anything_but_this_format_exactly_is_refused_so_the_body_is_normalised_instead(data: Any) -> None:
    assert stored_event.from_data(data) is None


def test_a_missing_field_is_refused() -> None:
    data = through_json(stored_event.to_data(RICH, None))
    del data["event"]["previous_body"]
    assert stored_event.from_data(data) is None


@pytest.mark.parametrize("topics", ["library", [1], {"a": 1}, ["ok", None]])
def test_topics_of_another_shape_are_not_read_back(topics: Any) -> None:
    assert stored_event.from_data(edited({"topics": topics})) is None


def test_rows_of_the_previous_format_are_normalised_afresh() -> None:
    data = edited({})
    del data["event"]["topics"]
    assert stored_event.from_data({**data, "format": 1}) is None
