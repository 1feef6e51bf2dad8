"""A delivery is normalised once, at the receiver: the worker reads the stored event, and falls
back to the raw body only for rows without one it understands (older rows, internal events)."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.core.events import Event, Kind
from bot.jobs.handlers import Dispatcher
from bot.platforms.registry import spec_for
from bot.store.models import Delivery
from bot.webhooks.normalize import from_stored, normalize, stored_form

from .helpers import FIXTURES, fixture_bytes, github_headers, gitlab_token_headers, stored
from .test_normalize import GITHUB_FILES, GITLAB_FILES

CASES = [("github", name, event) for name, (event, _) in GITHUB_FILES.items()] + [
    ("gitlab", name, event) for name, (event, _) in GITLAB_FILES.items()
]


@pytest.mark.parametrize(("platform", "name", "event_name"), CASES)
def test_every_fixture_reads_back_as_the_event_the_body_gives(
    platform: str, name: str, event_name: str
) -> None:
    payload = json.loads((FIXTURES / platform / name).read_text())
    event = normalize(platform, event_name, payload)
    account = spec_for(platform).account(payload)
    assert from_stored(stored_form(event, account)) == (event, account)


def test_what_json_cannot_hold_is_not_stored_and_old_rows_are_not_misread() -> None:
    lone = Event(normalize("github", "ping", {}).platform, Kind.COMMENT, "issue_comment", body="\ud800")
    assert stored_form(lone, None) is None  # the worker normalises the body instead
    assert from_stored(None) is None and from_stored(b"") is None and from_stored(b"{not json") is None


class Seen:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        self.events.append(event)


def change(engine: Engine, row: Delivery, **values: object) -> Delivery:
    with Session(engine) as s:
        found = s.get(Delivery, row.id)
        assert found is not None
        for key, value in values.items():
            setattr(found, key, value)
        s.add(found)
        s.commit()
        s.refresh(found)
        return found


async def test_the_worker_uses_the_event_the_receiver_stored(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = fixture_bytes("github", "push.with-new-branch.payload.json")
    assert (
        await client.post("/webhooks/github", content=body, headers=github_headers(body))
    ).status_code == 202
    [row] = stored(engine)
    expected = normalize("github", "push", json.loads(body))
    assert from_stored(row.normalized) == (expected, None)

    # The body is not read again: a row whose body no longer parses is still dispatched.
    row = change(engine, row, payload=b"not json any more")
    seen = Seen()
    await Dispatcher(engine, sync=seen)(row)
    assert seen.events == [expected]


@pytest.mark.parametrize(
    "normalized",
    [None, orjson.dumps({"format": 0, "event": {}}), b"{broken"],
    ids=["stored-before-0016", "another-format", "unreadable"],
)
async def test_rows_without_a_usable_stored_event_are_normalised_from_the_body(
    client: httpx.AsyncClient, engine: Engine, normalized: bytes | None
) -> None:
    body = fixture_bytes("gitlab", "push.json")
    headers = gitlab_token_headers("Push Hook")
    assert (await client.post("/webhooks/gitlab", content=body, headers=headers)).status_code == 202
    [row] = stored(engine)
    row = change(engine, row, normalized=normalized)
    seen = Seen()
    await Dispatcher(engine, sync=seen)(row)
    assert seen.events == [normalize("gitlab", "Push Hook", json.loads(body))]
