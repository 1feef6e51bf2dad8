"""Read-only commands as pure functions over what the last sync left, and the routing tables:
every command the parser knows is one entry in exactly one of ANSWERS and DECIDERS."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core import command_answers, command_effects, commands
from bot.core.command_answers import ANSWERS, Seen
from bot.core.commands import Command
from bot.core.resolve import ResolvedChecklist
from bot.core.state import ItemState, Status
from bot.core.templates import parse_template

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TEMPLATE = """
id: svc
title: Service basics
version: 1
description: Two items.
sections:
  - id: run
    title: Running it
    items:
      - id: playbook
        title: Incident playbook
        why: Responders follow the same steps
        evidence: {files: ["docs/playbook.md"]}
      - id: pager
        title: Pager rota agreed
        why: Someone is woken at night
        manual: true
"""


def seen(checklists: bool = True, **states: Status) -> Seen:
    resolved = ResolvedChecklist(parse_template(TEMPLATE, filename="svc.yaml"), {}, {})
    by_item = {i: ItemState("svc", i, st, actor="alice") for i, st in states.items()}
    return Seen("octo-org/widgets", [resolved] if checklists else None, {"svc": by_item}, (), {}, NOW)


def answer(text: str, view: Seen) -> str | None:
    [cmd] = commands.parse(text)
    assert isinstance(cmd, Command)
    return ANSWERS[cmd.name].answer(cmd, view)


def test_every_parsed_command_is_one_entry_in_exactly_one_table() -> None:
    readers, deciders = set(ANSWERS), set(command_effects.DECIDERS)
    assert readers | deciders == set(commands.NAMES)
    assert not readers & deciders
    assert {n for n, r in ANSWERS.items() if r.syncs} == {"sync"}


def test_why_explains_the_item_as_last_synced_and_names_a_typo() -> None:
    text = answer("/readiness why pager", seen(pager=Status.DONE))
    assert text is not None and "**Pager rota agreed** `svc/pager`" in text
    typo = answer("/readiness why playbok", seen())
    assert (
        typo
        == "`/readiness why playbok`: No item `playbok` in this repository's checklists. Did you mean `svc/playbook`?"
    )


def test_read_only_answers_say_so_when_there_is_no_valid_config() -> None:
    assert answer("/readiness status", seen(checklists=False)) == (
        "This repository has no valid `.readiness.yml` right now, so there is nothing to report."
    )
    assert "nothing to explain" in (answer("/readiness why pager", seen(checklists=False)) or "")


def test_status_counts_what_the_last_sync_left_and_help_lists_every_command() -> None:
    status = answer("/readiness status", seen(pager=Status.DONE))
    assert status is not None and status.startswith("**Readiness of `octo-org/widgets`**")
    assert "1 / 2 done (50%)" in status
    help_text = answer("/readiness help", seen())
    assert help_text is not None and all(usage in help_text for usage in commands.USAGE.values())
    assert answer("/readiness sync", seen()) is None  # the sync is the answer (a 👍 when done)


def test_known_items_resolve_by_title_words() -> None:
    known = command_answers.known_items(seen().checklists or [])
    assert commands.resolve_item("rota", known) == ("svc", "pager")
