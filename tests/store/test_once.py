"""Exactly-once records for command replies: claimed before the post, finished after it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.store import once
from bot.store.db import session_scope
from bot.store.models import Repository

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _repository(engine: Engine) -> int:
    with session_scope(engine) as s:
        row = Repository(platform="github", full_name="acme/widgets")
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def _claim(engine: Engine, rid: int, comment_id: int = 42) -> bool:
    with session_scope(engine) as s:
        return once.claim_reply(
            s, repository_id=rid, comment_id=comment_id, issue_number=3, sender="hubot", at=NOW
        )


def _answered(engine: Engine, rid: int, comment_id: int = 42) -> bool:
    with session_scope(engine) as s:
        return once.command_answered(s, repository_id=rid, comment_id=comment_id)


def test_an_interrupted_reply_is_not_an_answer_and_its_retry_knows_to_look_for_it(engine: Engine) -> None:
    rid = _repository(engine)
    assert _claim(engine, rid) is True  # first attempt: post without looking
    assert _answered(engine, rid) is False  # crashed before finishing: the retry must answer
    assert _claim(engine, rid) is False  # the retry: an earlier attempt may have posted
    assert _claim(engine, rid, comment_id=43) is True  # another comment is its own claim
    with session_scope(engine) as s:
        once.record_command(
            s, repository_id=rid, comment_id=42, issue_number=3, sender="hubot", reply_id=900, at=NOW
        )
    assert _answered(engine, rid) is True
    assert _answered(engine, rid, comment_id=43) is False


def test_an_answer_without_a_claim_is_recorded_as_before(engine: Engine) -> None:
    rid = _repository(engine)
    with session_scope(engine) as s:
        once.record_command(
            s, repository_id=rid, comment_id=7, issue_number=3, sender="hubot", reply_id=None, at=NOW
        )
    assert _answered(engine, rid, comment_id=7) is True
    assert _claim(engine, rid, comment_id=7) is False
