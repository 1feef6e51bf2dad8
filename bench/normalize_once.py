"""What normalising a delivery once costs the receiver and saves the worker, per delivery.

    .venv/bin/python bench/normalize_once.py [--deliveries 4000] [--repeat 5]

On `bench/load.py`'s mix of GitHub deliveries (pushes, CI completions, comments): the receiver's
extra step (`stored_form`: the event to versioned JSON, stored with the delivery), the worker's
read before (decode the stored body with `json`, normalise it, read the installation account)
and after (`from_stored`), and the bytes stored per delivery (body, and the event beside it).
The best of `--repeat` runs, in process CPU time: the figure that holds on a busy machine.
`bench/ack_cpu.py` measures the whole acknowledgement path.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import bodies

from bot.platforms.registry import spec_for
from bot.webhooks.normalize import from_stored, normalize, stored_form
from bot.webhooks.routes import parse_json

SPEC = spec_for("github")


def per_item(fn: Callable[[], object], n: int, repeat: int) -> float:
    """Best CPU microseconds per item over `repeat` runs of `fn` (which handles `n` items)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.deliveries, args.repeat
    mix = bodies(n, random.Random(1))
    parsed = [(event, parse_json(body)) for event, body in mix]
    events = [(normalize("github", event, p), SPEC.account(p)) for event, p in parsed]
    blobs = [stored_form(e, a) for e, a in events]
    assert all(b is not None and from_stored(b) == ea for b, ea in zip(blobs, events, strict=True))

    write = per_item(lambda: [stored_form(e, a) for e, a in events], n, repeat)

    def before() -> None:
        for event, body in mix:
            payload = json.loads(body)
            normalize("github", event, payload), SPEC.account(payload)

    read_before = per_item(before, n, repeat)
    read_after = per_item(lambda: [from_stored(b) for b in blobs], n, repeat)
    body_bytes = sum(len(b) for _, b in mix) / n
    event_bytes = sum(len(b or b"") for b in blobs) / n
    print(f"{n} deliveries (pushes, CI completions, comments), best of {repeat}, CPU per delivery:")
    print(f"  receiver, extra: stored_form                         {write:6.1f} us")
    print(f"  worker, before:  json.loads + normalize + account    {read_before:6.1f} us")
    print(f"  worker, after:   from_stored                         {read_after:6.1f} us")
    print(f"  stored per delivery: body {body_bytes:,.0f} bytes, normalised event {event_bytes:,.0f} bytes")


if __name__ == "__main__":
    main()
