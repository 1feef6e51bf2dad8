"""Fuzz the webhook normaliser (GitHub and GitLab): every authentic body becomes an `Event` or a
clean refusal, never an exception, and what is stored is bounded and well-typed.

Two kinds of input, chosen by the first byte: raw bytes through the receiver's JSON parser
(`parse_json`: nesting bombs, huge integers, invalid UTF-8), and structure-aware mutations of
the real webhook fixtures (a value anywhere in a payload replaced by a value of another type: a
list for a status, a mapping for an id, 2**64 for an installation id, …), which reach far deeper
into the normaliser than byte flips of JSON text.

Usage: `.venv/bin/python bench/fuzz/normalize.py -max_total_time=60` (see bench/fuzz/common.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import atheris
from common import ROOT, run

with atheris.instrument_imports(include=["bot"]):  # our code; not yaml, pydantic, re2
    from bot.core.events import Event
    from bot.webhooks.normalize import normalize
from bot.webhooks.routes import Rejected, TooDeep, parse_json, repo_key  # the app: not instrumented

FIXTURES = ROOT / "tests" / "fixtures" / "webhooks"
GITLAB_EVENTS = {
    "push.json": "Push Hook",
    "tag_push.json": "Tag Push Hook",
    "issue.json": "Issue Hook",
    "job.json": "Job Hook",
    "pipeline.json": "Pipeline Hook",
    "merge_request.json": "Merge Request Hook",
    "note_commit.json": "Note Hook",
    "note_issue.json": "Note Hook",
    "note_merge_request.json": "Note Hook",
}
PAYLOADS: list[tuple[str, str, Any]] = []
for path in sorted((FIXTURES / "github").glob("*.json")):
    PAYLOADS.append(("github", path.name.split(".")[0], json.loads(path.read_text())))
for path in sorted((FIXTURES / "gitlab").glob("*.json")):
    PAYLOADS.append(("gitlab", GITLAB_EVENTS.get(path.name, "Push Hook"), json.loads(path.read_text())))
DB_INT = range(-(2**63), 2**63)  # what both databases store in a BIGINT


def samples() -> list[bytes]:
    return [bytes([i % 256]) + json.dumps(p).encode() for i, (_, _, p) in enumerate(PAYLOADS)]


def _value(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> Any:
    choice = fdp.ConsumeIntInRange(0, 9)
    if choice == 0:
        return None
    if choice == 1:
        return fdp.ConsumeBool()
    if choice == 2:
        return fdp.ConsumeInt(9)  # up to 72 bits, signed: beyond every id column
    if choice == 3:
        return fdp.ConsumeFloat()
    if choice in (4, 5):
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 64))
    if choice == 6 and depth < 4:
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if choice == 7 and depth < 4:
        return {
            fdp.ConsumeUnicodeNoSurrogates(8): _value(fdp, depth + 1)
            for _ in range(fdp.ConsumeIntInRange(0, 3))
        }
    return fdp.PickValueInList(
        ["", "0" * 40, "refs/heads/main", "completed", "success", "created", "Bot", -1, 0]
    )


def _mutate(fdp: atheris.FuzzedDataProvider, node: Any) -> Any:
    """Replace one value somewhere in `node` (a walk down chosen by the input)."""
    if not isinstance(node, (dict, list)) or not node or fdp.ConsumeIntInRange(0, 5) == 0:
        return _value(fdp)
    if isinstance(node, dict):
        key = fdp.PickValueInList(sorted(node))
        return {**node, key: _mutate(fdp, node[key])}
    i = fdp.ConsumeIntInRange(0, len(node) - 1)
    return [*node[:i], _mutate(fdp, node[i]), *node[i + 1 :]]


def check(platform: str, name: str, payload: Any) -> None:
    event = normalize(platform, name, payload)
    assert isinstance(event, Event)
    for value in (event.installation_id, event.repo and event.repo.id, event.issue_number, event.comment_id):
        assert value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value in DB_INT
        ), f"an id the database cannot store: {value!r}"
    key = repo_key(event)
    assert key is None or isinstance(key, str)
    for text in (event.action, event.sender, event.body, event.commit, event.ref):
        assert text is None or isinstance(text, str), f"a non-string field: {text!r}"


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeIntInRange(0, 3) == 0:
        platform = fdp.PickValueInList(["github", "gitlab"])
        name = fdp.PickValueInList(sorted({n for p, n, _ in PAYLOADS if p == platform}))
        try:
            payload = parse_json(fdp.ConsumeBytes(fdp.remaining_bytes()))
        except (TooDeep, Rejected):
            return
        check(platform, name, payload)
        return
    platform, name, payload = PAYLOADS[fdp.ConsumeIntInRange(0, len(PAYLOADS) - 1)]
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        payload = _mutate(fdp, payload)
    check(platform, name, payload)


if __name__ == "__main__":
    run(test_one_input, samples)
    sys.exit(0)
