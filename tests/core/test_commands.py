"""`/readiness` command parsing: what counts as a command, and the errors people see."""

from __future__ import annotations

import pytest

from bot.core.commands import Command, CommandError, parse, resolve_item

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
    assert isinstance(no_item, CommandError) and "needs an item id" in no_item.message
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
