"""CPU per acknowledged delivery on the receiver's path, in-process (no HTTP server, no worker).

    .venv/bin/python bench/ack_cpu.py [--deliveries 4000] [--concurrency 50] [--db URL] [--gc serve]

Sends `bench/load.py`'s mix of signed GitHub deliveries (pushes, CI completions, comments)
straight into the ASGI app (`create_app` without worker or scheduler): verify, parse, normalise,
group commit, 202. Prints the process CPU per delivery (writer threads included), the only
figure that holds on a busy shared machine, and how many cyclic collections ran meanwhile.
`--gc serve` tunes the collector as `readiness serve` does (`bot.cli.server.tune_gc`);
`--profile` adds the top of a cProfile. SQLite in a temporary directory unless --db is given
(a migrated database: `readiness migrate` first for PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import hmac
import pstats
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import SECRET, bodies

from bot.app import create_app
from bot.cli.server import tune_gc
from bot.config import Settings


def signature(body: bytes) -> str:
    """X-Hub-Signature-256 as GitHub computes it."""
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def deliver(app: Any, event: str, body: bytes) -> int:
    """One POST /webhooks/github through the ASGI interface; the response status."""
    headers = [
        (b"content-type", b"application/json"),
        (b"x-github-event", event.encode()),
        (b"x-github-delivery", str(uuid.uuid4()).encode()),
        (b"x-hub-signature-256", signature(body).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/github",
        "raw_path": b"/webhooks/github",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not sent.is_set():
            sent.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def run(args: argparse.Namespace) -> None:
    db = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='readiness-ack-')}/ack.db"
    settings = Settings(database_url=db, github_webhook_secret=SECRET, log_level="WARNING")
    app = create_app(settings, start_worker=False, start_scheduler=False)
    mix = bodies(args.deliveries + 100, random.Random(1))
    async with app.router.lifespan_context(app):
        for event, body in mix[:100]:  # warm up: first statements, caches
            await deliver(app, event, body)
        if args.gc == "serve":
            tune_gc()
        slots = asyncio.Semaphore(args.concurrency)

        async def one(event: str, body: bytes) -> int:
            async with slots:
                return await deliver(app, event, body)

        profile = cProfile.Profile() if args.profile else None
        before = [s["collections"] for s in gc.get_stats()]
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        codes = await asyncio.gather(*(one(e, b) for e, b in mix[100:]))
        if profile:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        collections = [s["collections"] - b for s, b in zip(gc.get_stats(), before, strict=True)]
    n = len(codes)
    print(
        f"{n} deliveries, {args.concurrency} at a time, gc {args.gc}: CPU {cpu / n * 1e6:.0f} us per "
        f"delivery, wall {wall:.2f} s; statuses {sorted(set(codes))}; gc collections per generation "
        f"{collections}"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--gc", choices=["default", "serve"], default="default")
    parser.add_argument("--profile", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
