"""State-changing commands as pure functions: the reply and the new state, no platform, no store."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core import command_effects, exemptions
from bot.core.commands import NAMES, TARGETED, Command
from bot.core.decide import CONFIG_ACTOR
from bot.core.state import ItemState, Status

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def state(status: Status = Status.OPEN, **kw: object) -> ItemState:
    return ItemState("prod", "runbook", status, **kw)  # type: ignore[arg-type]


def test_every_state_changing_command_has_one_decider_and_readers_have_none() -> None:
    readers = {"status", "sync", "why", "help"}
    assert set(command_effects.DECIDERS) == set(NAMES) - readers
    assert set(command_effects.DECIDERS) <= TARGETED  # each names an item


def test_done_ticks_with_the_note_and_undo_unticks_as_a_person() -> None:
    msg, new = command_effects.decide(Command("done", 1, "runbook", "see wiki"), state(), "alice", NOW)
    assert new is not None and (new.status, new.actor, new.reason) == (Status.DONE, "alice", "see wiki")
    assert msg == "✔ Ticked `prod/runbook`: see wiki"
    msg, undone = command_effects.decide(Command("undo", 1, "runbook"), new, "bob", NOW)
    assert undone is not None and (undone.status, undone.actor) == (Status.OPEN, "bob")


def test_commands_that_would_change_nothing_say_why_and_change_nothing() -> None:
    skipped = state(Status.SKIPPED, actor="alice", reason="batch job")
    assert command_effects.decide(Command("done", 1, "runbook"), skipped, "bob", NOW)[1] is None
    assert command_effects.decide(Command("undo", 1, "runbook"), state(), "bob", NOW) == (
        "`prod/runbook` is not ticked, so there is nothing to undo.",
        None,
    )
    assert command_effects.decide(Command("unskip", 1, "runbook"), state(), "bob", NOW)[1] is None
    past = Command("skip", 1, "runbook", "later", until=date(2026, 1, 1))
    assert "in the past" in command_effects.decide(past, state(), "bob", NOW)[0]


def test_a_skip_from_the_configuration_file_is_changed_only_there() -> None:
    in_file = state(Status.SKIPPED, actor=CONFIG_ACTOR, reason="no traffic")
    for name in command_effects.DECIDERS:
        msg, new = command_effects.decide(Command(name, 1, "runbook", "r"), in_file, "alice", NOW)
        assert new is None and "change it there" in msg


def test_an_approver_is_a_named_user_or_a_member_of_a_team_or_bare_group() -> None:
    approvers = ("@Olga", "@octo-org/sre", "@team-top")
    members = {"octo-org/sre": ("carol",), "team-top": ("erin",)}  # team-top: a GitLab group
    assert [exemptions.is_approver(x, approvers, members) for x in ("olga", "carol", "erin")] == [True] * 3
    assert not exemptions.is_approver("team-top", approvers, members)  # the group is no person
    assert exemptions.is_approver("team-top", approvers, {})  # not a group: a user of that name
    assert not exemptions.is_approver("mallory", approvers, members)
