"""Compute every due weekly summary of a large organisation and print the time and peak memory.

Seeds a SQLite database with REPOS repositories (default 10,000), each tracking the shipped
`production-readiness` checklist with a year of item history (about one change a week per
repository), then renders each repository's summary the way the summary job does: its states, the
history the trend chart needs, the owner reminders (every item owned by a team, stored as a sync
records them, with their mention history), attestations due and stale sections, and
`summary.render_summary`. API pacing is not counted: nothing is posted, and no CODEOWNERS file is
read (the summary job reads none either). Repositories are streamed in chunks of CHUNK (five
queries per chunk: states, history, owners, mentions, when tracking began; not five per
repository), so memory should
not grow with their number; the script prints the peak resident memory after seeding and after
computing, and a second, smaller run (--repos 1000) shows the difference.

Usage: .venv/bin/python bench/summaries.py [--repos N] [--db PATH]
Target on the reference machine: under 30 s of compute for 10,000 repositories.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.resolve import ResolvedChecklist  # noqa: E402
from bot.core.state import Status  # noqa: E402
from bot.jobs.history import began_for  # noqa: E402
from bot.jobs.summaries import compose, summary_inputs  # noqa: E402
from bot.resources import load_shipped  # noqa: E402
from bot.store import item_owners, mentions  # noqa: E402
from bot.store.db import make_engine, session_scope  # noqa: E402
from bot.store.migrate import upgrade_engine  # noqa: E402
from bot.store.models import ItemEvent, ItemOwners, ItemStateRow, OwnerMention, Repository  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CHUNK = 500  # repositories per five queries
STATUSES = [Status.AUTO, Status.DONE, Status.OPEN, Status.SKIPPED]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def owners_of(checklist: ResolvedChecklist) -> dict[tuple[str, str], tuple[str, ...]]:
    """Every item owned by its section's team."""
    t = checklist.template
    return {(t.id, i.id): (f"@acme/{sec.id}",) for sec, i in t.items()}


def seed(engine, checklist: ResolvedChecklist, repos: int, rng: random.Random) -> None:
    items = [i.id for _, i in checklist.template.items()]
    owner = {item: names[0] for (_, item), names in owners_of(checklist).items()}
    cid = checklist.template.id
    with engine.begin() as conn:
        conn.execute(
            insert(Repository),
            [
                {
                    "platform": "github",
                    "full_name": f"acme/svc-{n:05d}",
                    "summary_schedule": "monday 09:00 UTC",
                }
                for n in range(repos)
            ],
        )
    for start in range(0, repos, 500):
        states, events, said, owners = [], [], [], []
        for rid in range(start + 1, min(start + 500, repos) + 1):
            owners += [
                {"repository_id": rid, "checklist": cid, "item_id": item, "owners": name}
                for item, name in owner.items()
            ]
            current: dict[str, Status] = {}
            for week in range(52):
                at = NOW - timedelta(weeks=52 - week, hours=rng.randrange(1, 160))
                item = rng.choice(items)
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
                        "actor": "maria" if to in (Status.DONE, Status.SKIPPED) else None,
                        "evidence": "found `Dockerfile`" if to is Status.AUTO else None,
                        "at": at,
                    }
                )
            for item in rng.sample(items, 5):  # earlier summaries mentioned owners: backoff reads them
                said += [
                    {"repository_id": rid, "owner": owner[item], "checklist": cid, "item_id": item, "at": at}
                    for at in (NOW - timedelta(weeks=w) for w in range(1, rng.randrange(2, 6)))
                ]
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
                        "changed_at": NOW - timedelta(days=3),
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(ItemStateRow), states)
            conn.execute(insert(ItemEvent), events)
            conn.execute(insert(OwnerMention), said)
            conn.execute(insert(ItemOwners), owners)


def compute(engine, checklist: ResolvedChecklist, chunk: int = CHUNK) -> tuple[int, int]:
    """Every repository's summary, streamed a chunk of repositories at a time (five queries per
    chunk: bot.jobs.summaries.summary_inputs, stored owners, mentions, when tracking began);
    returns (summaries, characters rendered)."""
    since = NOW - timedelta(weeks=1)
    count = chars = 0
    after = 0
    while True:
        with session_scope(engine, immediate=False) as s:
            ids = list(
                s.connection()
                .exec_driver_sql(
                    "SELECT id FROM repositories WHERE id > ? ORDER BY id LIMIT ?", (after, chunk)
                )
                .scalars()
            )
            if not ids:
                return count, chars
            inputs = summary_inputs(s, ids, since=since)
            owned = item_owners.load_owners_for(s, ids)
            said = mentions.load_mentions_for(s, ids)
            began = began_for(s, ids)
        for rid in ids:
            states, changes = inputs[rid]
            text, _ = compose(
                week="2026-W49",
                checklists=[checklist],
                states=states,
                changes=changes,
                numbers={},
                since=since,
                owners=owned[rid],
                said=said[rid],
                now=NOW,
                began=began[rid],
            )
            count += 1
            chars += len(text)
        after = ids[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repos", type=int, default=10_000)
    ap.add_argument("--db", type=Path, help="reuse a seeded database (seeded if missing)")
    args = ap.parse_args()
    template = load_shipped()["production-readiness"]
    checklist = ResolvedChecklist(template, {}, {})
    path = args.db or Path(tempfile.mkdtemp()) / "summaries.db"
    fresh = not path.exists()
    engine = make_engine(f"sqlite:///{path}")
    if fresh:
        upgrade_engine(engine)
        t = time.perf_counter()
        seed(engine, checklist, args.repos, random.Random(7))
        print(f"seeded {args.repos} repositories x 52 weeks of history in {time.perf_counter() - t:.1f} s")
    print(f"peak RSS after seeding: {rss_mib():.0f} MiB")
    t, cpu = time.perf_counter(), time.process_time()
    count, chars = compute(engine, checklist)
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(
        f"computed {count} summaries ({chars / count:.0f} characters each) in {took:.1f} s wall, "
        f"{cpu:.1f} s CPU ({cpu / count * 1000:.2f} ms CPU each)"
    )
    print(f"peak RSS after computing: {rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
