"""`/readiness` command parsing: what counts as a command, and the errors people see."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.commands import Command, CommandError, FloodLimit, flood_retry_at, parse, resolve_item

KNOWN = {"svc": ["container", "ci-tests", "runbook", "oncall"], "sec": ["oncall", "sbom"]}


def test_one_command_per_line_with_case_and_spacing_forgiven():
    body = "Thanks!\n/readiness status\r\n  /Readiness   SKIP  svc/Oncall   We page via the platform team  \n"
    assert parse(body) == [
        Command("status", 2),
        Command("skip", 3, target="svc/oncall", reason="We page via the platform team"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "> /readiness skip svc/oncall not needed",  # a reply quoting someone's command
        ">> /readiness status",
        "```\n/readiness status\n```",
        "~~~~markdown\n/readiness sync\n~~~~",
        "```\n~~~\n/readiness sync\n```",  # a different fence character does not close the block
        "    /readiness status",  # indented code
        "\t/readiness status",
        "Use `/readiness status` to see progress.",  # mid-sentence
        "/readinessstatus",
        "",
    ],
)
def test_quotes_code_and_prose_are_not_commands(body):
    assert parse(body) == []


def test_commands_after_a_closed_fence_count_again():
    body = "```sh\n/readiness skip x y\n```\n/readiness refresh"
    assert parse(body) == [Command("sync", 4)]


def test_unknown_command_suggests_the_closest():
    [err] = parse("/readiness stauts")
    assert isinstance(err, CommandError)
    assert str(err) == "Unknown command `stauts`. Did you mean `/readiness status`?"
    [err] = parse("/readiness refesh")
    assert err.suggestion == "/readiness sync"
    [err] = parse("/readiness")
    assert err.suggestion == "/readiness help"


def test_skip_needs_an_item_and_a_reason():
    [no_item, no_reason, quoted] = parse(
        '/readiness skip\n/readiness skip svc/oncall\n/readiness skip svc/oncall "we have no pager"'
    )
    assert isinstance(no_item, CommandError) and "needs an item" in no_item.message
    assert isinstance(no_reason, CommandError)
    assert "needs a reason" in no_reason.message and "svc/oncall" in no_reason.message
    assert quoted == Command("skip", 3, target="svc/oncall", reason="we have no pager")
    assert parse("/readiness unskip sbom") == [Command("unskip", 1, target="sbom")]


def test_at_most_ten_commands_per_comment():
    assert len(parse("/readiness status\n" * 50)) == 10


def test_item_ids_resolve_with_or_without_checklist():
    assert resolve_item("svc/runbook", KNOWN) == ("svc", "runbook")
    assert resolve_item("sbom", KNOWN) == ("sec", "sbom")
    ambiguous = resolve_item("oncall", KNOWN)
    assert isinstance(ambiguous, str) and "`svc/oncall`" in ambiguous and "`sec/oncall`" in ambiguous
    assert resolve_item("svc/runbok", KNOWN) == (
        "No item `svc/runbok` in this repository's checklists. Did you mean `svc/runbook`?"
    )
    assert resolve_item("containr", KNOWN).endswith("Did you mean `svc/container`?")
    assert resolve_item("zzz", KNOWN) == "No item `zzz` in this repository's checklists."


TITLED = {
    "svc": {
        "container": "Container image",
        "runbook": "Runbook for every alert",
        "oncall": "On-call rota agreed",
    },
    "sec": {"sbom": "SBOM published", "oncall": "Security on-call"},
}


def test_done_undo_and_skip_until_parse_their_parts():
    body = (
        '/readiness done svc/runbook reviewed with SRE\n/readiness undo "runbook for every alert"\n'
        "/readiness skip sbom until 2027-03-01 vendored build, no SBOM tooling yet\n"
        "/readiness skip sbom until 2027-02-30 reason\n/readiness done\n/readiness undo container image"
    )
    done, undo, skip, bad_day, no_item, undo_words = parse(body)
    assert done == Command("done", 1, target="svc/runbook", reason="reviewed with SRE")
    assert undo == Command("undo", 2, target="runbook for every alert")
    assert skip == Command(
        "skip", 3, target="sbom", reason="vendored build, no SBOM tooling yet", until=date(2027, 3, 1)
    )
    assert isinstance(bad_day, CommandError) and "YYYY-MM-DD" in bad_day.message
    assert isinstance(no_item, CommandError)
    assert undo_words == Command("undo", 6, target="container image")


def test_items_resolve_by_an_unambiguous_part_of_the_title():
    assert resolve_item("container image", TITLED) == ("svc", "container")
    assert resolve_item("runbook alert", TITLED) == ("svc", "runbook")
    several = resolve_item("on-call", TITLED)
    assert isinstance(several, str) and "nothing was changed" in several
    assert "`svc/oncall`" in several and "`sec/oncall`" in several
    assert resolve_item("security on-call", TITLED) == ("sec", "oncall")
    assert isinstance(resolve_item("zz", TITLED), str)  # too short to search titles


def test_flooding_gets_a_time_to_try_again():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    limit = FloodLimit(count=3, window=timedelta(minutes=10))
    sent = [now - timedelta(minutes=m) for m in (9, 5, 1)]
    assert flood_retry_at(sent[:2], now, limit) is None
    assert flood_retry_at(sent, now, limit) == now + timedelta(minutes=1)
    assert flood_retry_at([now - timedelta(minutes=11)] * 5, now, limit) is None
