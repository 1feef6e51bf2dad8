"""Weekly summaries load their data per chunk of repositories (states, history, owner mentions
and when tracking began: four queries, not four per repository): the rendered comments must be
byte for byte what per-repository loading gave."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, select

from bot.core import summary
from bot.core.resolve import ResolvedChecklist
from bot.core.state import ItemState, Status
from bot.jobs.history import began_for
from bot.jobs.summaries import WEEK, compose, render, summary_inputs
from bot.resources import load_shipped
from bot.store import mentions
from bot.store.db import session_scope
from bot.store.models import ItemEvent, ItemStateRow, OwnerMention, Repository

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(weeks=1)
CHECKLIST = ResolvedChecklist(load_shipped()["production-readiness"], {}, {})
STATUSES = list(Status)
# every item owned by its section's team, so "Owners to act" depends on each repository's mentions
OWNERS = {(CHECKLIST.template.id, i.id): (f"@acme/{sec.id}",) for sec, i in CHECKLIST.template.items()}


def seed(engine: Engine, repos: int, rng: random.Random) -> list[int]:
    """Repositories with random current states and a year of history, including events that share
    a timestamp (their order is insertion order), history older than the chart and none at all."""
    items = [i.id for _, i in CHECKLIST.template.items()]
    cid = CHECKLIST.template.id
    with engine.begin() as conn:
        conn.execute(
            insert(Repository), [{"platform": "github", "full_name": f"acme/r{n}"} for n in range(repos)]
        )
    with session_scope(engine) as s:
        ids = [r.id for r in s.exec(select(Repository).order_by(Repository.id))]  # type: ignore[arg-type]
    states, events, said = [], [], []
    for rid in ids[1:]:  # the first repository has neither states nor history
        current: dict[str, Status] = {}
        for week in range(rng.randrange(0, 60)):
            at = NOW - timedelta(weeks=52 - week, hours=rng.randrange(1, 160))
            item = rng.choice(items)
            for _ in range(rng.choice([1, 1, 2, 3])):  # same item, same `at`: their order matters
                to = rng.choice(STATUSES)
                frm = current.get(item)
                current[item] = to
                events.append(
                    {
                        "repository_id": rid,
                        "checklist": cid,
                        "item_id": item,
                        "from_status": frm.value if frm else None,
                        "to_status": to.value,
                        "actor": rng.choice([None, "maria", "ci"]),
                        "evidence": rng.choice([None, "found `Dockerfile`"]),
                        "at": at,
                    }
                )
        for item, st in current.items():
            states.append(
                {
                    "repository_id": rid,
                    "checklist": cid,
                    "item_id": item,
                    "status": st.value,
                    "actor": "maria" if st in (Status.DONE, Status.SKIPPED) else None,
                    "reason": "not for this service" if st is Status.SKIPPED else None,
                    "evidence": "found `Dockerfile`" if st is Status.AUTO else None,
                    "changed_at": NOW - timedelta(days=rng.randrange(0, 30)),
                    "until": date(2026, 12, rng.randrange(1, 28)) if st is Status.SKIPPED else None,
                }
            )
            for weeks_ago in range(rng.randrange(0, 5)):  # earlier summaries' mentions: backoff
                owner = OWNERS[(cid, item)][0]
                at = NOW - timedelta(weeks=weeks_ago + 1)
                said.append(
                    {"repository_id": rid, "owner": owner, "checklist": cid, "item_id": item, "at": at}
                )
    with engine.begin() as conn:
        if said:
            conn.execute(insert(OwnerMention), said)
        if states:
            conn.execute(insert(ItemStateRow), states)
        if events:
            conn.execute(insert(ItemEvent), events)
    return ids


def aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def per_repository(s: Session, rid: int, owners: bool = True) -> str:
    """The oracle: the loading as it was, ORM rows one repository at a time."""
    states: dict[str, dict[str, ItemState]] = {}
    for r in s.exec(select(ItemStateRow).where(ItemStateRow.repository_id == rid)):
        states.setdefault(r.checklist, {})[r.item_id] = ItemState(
            r.checklist,
            r.item_id,
            Status(r.status),
            r.evidence,
            r.actor,
            r.reason,
            aware(r.changed_at),
            r.until,
        )
    history = SINCE - timedelta(weeks=summary.TREND_WEEKS - 1)
    rows = s.exec(
        select(ItemEvent)
        .where(ItemEvent.repository_id == rid, ItemEvent.at >= history)
        .order_by(ItemEvent.id)  # type: ignore[arg-type]
    )
    changes = [
        summary.Change(
            r.checklist,
            r.item_id,
            Status(r.from_status) if r.from_status else None,
            Status(r.to_status),
            r.actor,
            r.evidence,
            aware(r.at) or r.at,
        )
        for r in rows
    ]
    said: dict[tuple[str, str, str], list[datetime]] = {}
    for m in s.exec(select(OwnerMention).where(OwnerMention.repository_id == rid).order_by(OwnerMention.id)):  # type: ignore[arg-type]
        said.setdefault((m.owner, m.checklist, m.item_id), []).append(aware(m.at) or m.at)
    began = aware(s.exec(select(func.min(ItemEvent.at)).where(ItemEvent.repository_id == rid)).one())
    return rendered(states, changes, said if owners else {}, began, owners)


def rendered(
    states: dict[str, dict[str, ItemState]],
    changes: list[summary.Change],
    said: dict[tuple[str, str, str], list[datetime]],
    began: datetime | None,
    owners: bool = True,
) -> str:
    return compose(
        week="2026-W49",
        checklists=[CHECKLIST],
        states=states,
        changes=changes,
        numbers={},
        since=SINCE,
        owners=OWNERS if owners else {},
        said=said,
        now=SINCE + WEEK,
        began=began,
    )[0]


def test_chunked_loading_renders_the_same_summaries_byte_for_byte(engine: Engine) -> None:
    ids = seed(engine, 11, random.Random(13))
    with session_scope(engine, immediate=False) as s:
        expected = {rid: per_repository(s, rid) for rid in ids}
        got: dict[int, str] = {}
        for start in range(0, len(ids), 4):  # chunks of 4: boundaries fall between repositories
            chunk = ids[start : start + 4]
            said, began = mentions.load_mentions_for(s, chunk), began_for(s, chunk)
            for rid, (states, changes) in summary_inputs(s, chunk, since=SINCE).items():
                got[rid] = rendered(states, changes, said[rid], began[rid])
        preview = per_repository(s, ids[3], owners=False)
    assert got == expected
    assert len(set(expected.values())) > 5  # the repositories really differ
    assert sum("### Owners to act" in text for text in expected.values()) > 3  # owners really mentioned
    assert sum("### Not moved for four weeks" in text for text in expected.values()) > 3
    # and the summary job's own per-repository path goes through the same loading
    assert render(engine, ids[3], [CHECKLIST], {}, week="2026-W49", since=SINCE) == preview


def test_a_chunk_of_unknown_or_no_repositories_loads_nothing(engine: Engine) -> None:
    with session_scope(engine, immediate=False) as s:
        assert summary_inputs(s, [], since=SINCE) == {}
        assert summary_inputs(s, [404], since=SINCE) == {404: ({}, [])}
