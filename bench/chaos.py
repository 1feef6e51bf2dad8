"""Run many seeds of the Faults suite and print how many passed (and what failed, to pin).

Each seed plays its story once cleanly and once through faults (see tests/chaos/driver.py) and
compares what users see on GitHub or GitLab. A failing seed prints its faults and differences:
add it to REGRESSIONS[platform] in tests/chaos/test_faults.py with the fix.

Usage: `.venv/bin/python bench/chaos.py --seeds 200 [--platform github|gitlab|both] [--start 1]
        [--faults 8] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test_NAME]`
(`--database-url` is the same as `--db`.) Prints passed/total per platform.
Without --db: a temporary SQLite database. With --db: a private schema in that database,
dropped at the end (the bot's backends get their own application_name, so the `db` fault
terminates only those).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chaos.driver import PLATFORMS, run_seed  # noqa: E402
from platforms.fake_github import app_key_pair  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.store.db import make_engine, normalize_url  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402


def quiet() -> None:
    """The bot logs every delivery; a bench of hundreds of runs prints only its figures."""
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--faults", type=int, default=8, help="faults drawn per run")
    ap.add_argument("--platform", choices=[*PLATFORMS, "both"], default="github")
    ap.add_argument("--db", "--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    quiet()
    keys = app_key_pair()
    schema = None
    admin = None
    if args.db:
        url = normalize_url(args.db)
        schema = f"chaos_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        db = db_url.render_as_string(hide_password=False)
    else:
        db = f"sqlite:///{tempfile.mkdtemp(prefix='chaos-')}/chaos.db"
    try:
        upgrade(db)
        platforms = list(PLATFORMS) if args.platform == "both" else [args.platform]
        where = "PostgreSQL" if args.db else "SQLite"
        all_passed = True
        for platform in platforms:
            all_passed &= await bench(platform, db, keys, args, where)
        return 0 if all_passed else 1
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


async def bench(platform: str, db: str, keys: tuple[str, str], args: argparse.Namespace, where: str) -> bool:
    """Run the seeds on one platform; print each failure and the platform's figures."""
    passed, failed, started = 0, [], time.perf_counter()
    for seed in range(args.start, args.start + args.seeds):
        outcome = await run_seed(db, keys, seed, faults=args.faults, platform=platform)
        if outcome.passed:
            passed += 1
        else:
            failed.append(seed)
            print(
                f"{platform} seed {seed} FAILED (faults {outcome.faults}, {outcome.lives} worker lives):",
                flush=True,
            )
            for problem in outcome.problems:
                print("  " + problem.replace("\n", "\n  ")[:3000], flush=True)
    seconds = time.perf_counter() - started
    print(
        f"{platform}: {passed}/{args.seeds} seeds passed on {where} ({args.faults} faults each, "
        f"{seconds:.0f} s, {seconds / args.seeds:.1f} s per seed)",
        flush=True,
    )
    if failed:
        print(f"{platform} failing seeds:", " ".join(map(str, failed)), flush=True)
    return not failed


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
