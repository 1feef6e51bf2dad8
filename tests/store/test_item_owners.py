"""Stored item owners (what the last sync resolved) and the pruning of owner mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.core.reminders import FINISHED, Reminder
from bot.core.state import ItemState, Status
from bot.store import item_owners, mentions, tracking
from bot.store.db import session_scope
from bot.store.models import Repository

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _repository(engine: Engine, name: str = "acme/widgets") -> int:
    with session_scope(engine) as s:
        row = Repository(platform="gitlab", full_name=name)
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def test_saved_owners_replace_the_last_syncs_and_stay_per_repository(engine: Engine) -> None:
    rid, other = _repository(engine), _repository(engine, "acme/other")
    with session_scope(engine) as s:
        item_owners.save_owners(
            s, repository_id=rid, owners={("svc", "a"): ("@alice",), ("svc", "b"): ("@o/t",)}
        )
        item_owners.save_owners(s, repository_id=other, owners={("svc", "a"): ("@zed",)})
    with session_scope(engine) as s:  # b's owner changed, a lost its owner, c gained some
        item_owners.save_owners(
            s,
            repository_id=rid,
            owners={("svc", "a"): (), ("svc", "b"): ("@team-top", "@bob"), ("svc", "c"): ("@c",)},
        )
    with session_scope(engine) as s:
        assert item_owners.load_owners(s, repository_id=rid) == {
            ("svc", "b"): ("@team-top", "@bob"),
            ("svc", "c"): ("@c",),
        }
        assert item_owners.load_owners_for(s, [other, 999]) == {other: {("svc", "a"): ("@zed",)}, 999: {}}


def test_pruning_takes_only_finished_items_old_mentions_and_at_most_the_limit(engine: Engine) -> None:
    rid = _repository(engine)
    states = [
        ItemState("svc", "done", Status.DONE, changed_at=NOW),
        ItemState("svc", "skipped", Status.SKIPPED, changed_at=NOW),
        ItemState("svc", "open", Status.OPEN, changed_at=NOW),
        ItemState("svc", "pending", Status.PENDING, changed_at=NOW),
    ]
    with session_scope(engine) as s:
        tracking.save_states(s, repository_id=rid, states=states, previous={}, now=NOW)
        every = Reminder("@sre", tuple(("svc", st.item_id) for st in states))
        for weeks in (6, 5, 1):
            mentions.record_mentions(s, repository_id=rid, reminders=[every], at=NOW - timedelta(weeks=weeks))
    cutoff = NOW - timedelta(weeks=4)
    with session_scope(engine) as s:
        assert mentions.prune_mentions(s, repository_id=rid, finished=FINISHED, before=cutoff, limit=3) == 3
    with session_scope(engine) as s:
        assert mentions.prune_mentions(s, repository_id=rid, finished=FINISHED, before=cutoff, limit=3) == 1
        assert mentions.prune_mentions(s, repository_id=rid, finished=FINISHED, before=cutoff, limit=3) == 0
    with session_scope(engine) as s:
        said = mentions.load_mentions(s, repository_id=rid)
    counts = {item: len(said[("@sre", "svc", item)]) for item in ("done", "skipped", "open", "pending")}
    assert counts == {"done": 1, "skipped": 1, "open": 3, "pending": 3}  # the recent ones stay
