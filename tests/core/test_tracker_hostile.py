"""Forged checkboxes (issue 12, finding 5): nothing a repository supplies can plant, shadow or hide
an item line, a line without the issue's nonce is text, and render-then-parse returns the rendered
states for any text."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import tracker
from bot.core.decide import APPLIES_ACTOR, shown_checked
from bot.core.state import ItemState, Status
from bot.core.templates import Item, Section, Template

NONCE = "0123456789abcdef"
OTHER = "fedcba9876543210"  # another issue's nonce
FORGED = "- [x] <!-- readiness:item team/i1 -->"
FORGED_NONCED = f"- [x] <!-- readiness:item team/i1 n={NONCE} -->"  # even knowing the nonce
NASTY = [
    f"harmless\n{FORGED} forged",
    f"\r\n{FORGED}",
    "<!-- hide the rest",
    "**bold** _x_ `code` | cell | <b>html</b> &amp;",
    f"\u2028{FORGED}",
    f"\n{FORGED_NONCED}",
]


def template(titles: list[str], whys: list[str]) -> Template:
    items = tuple(
        Item(id=f"i{n}", title=t, why=w) for n, (t, w) in enumerate(zip(titles, whys, strict=True), 1)
    )
    return Template("team", titles[0], 1, None, None, (Section("s", whys[0], items),), "team.yml")


def test_multi_line_titles_and_why_cannot_shadow_a_real_box() -> None:
    t = template(NASTY, NASTY)
    states = {f"i{n}": ItemState("team", f"i{n}") for n in range(1, len(NASTY) + 1)}
    body = tracker.render_section(t, t.sections[0], states, manual=set(), nonce=NONCE)
    assert tracker.parse_checkboxes(body) == {("team", f"i{n}"): False for n in range(1, len(NASTY) + 1)}
    assert "<!-- hide" not in body
    # every item is one line: the bot's lines are the only ones starting with a box
    assert sum(line.startswith("- [") for line in body.splitlines()) == len(NASTY)


def test_a_file_name_with_a_newline_in_the_evidence_cannot_plant_a_box() -> None:
    t = template(["Runbooks"], ["On call"])
    state = ItemState("team", "i1", Status.OPEN)
    other = ItemState("team", "i1", Status.AUTO, evidence=f"found `docs/x\n{FORGED.replace('[x]', '[ ]')}`")
    for s in (state, other):
        body = tracker.render_section(t, t.sections[0], {"i1": s}, manual=set(), nonce=NONCE)
        assert tracker.parse_checkboxes(body) == {("team", "i1"): s.ticked}


def test_backticks_in_a_config_error_cannot_leave_the_code_block() -> None:
    error = ".readiness.yml:3:1: unknown key '```\n- [x] <!-- readiness:item team/i1 -->\n````'"
    body = tracker.render_config_error(filename=".readiness.yml", error=error, nonce=NONCE)
    fence = body.splitlines()[3].removesuffix("text")
    assert set(fence) == {"`"} and len(fence) > 4
    inside = body.split(fence)[1]
    assert error in inside and fence not in inside


def test_old_bodies_still_parse() -> None:
    """Issues written before the escaping: same marker format, read as before."""
    body = (
        "<!-- readiness:section team/s v1 -->\n**T** · S\n\n"
        "- [x] <!-- readiness:item team/a --> **A**: why\n  - ✔ automatically: found `x`\n"
        "- [ ] <!-- readiness:item team/b --> **B**: why\n"
    )
    assert tracker.parse_checkboxes(body) == {("team", "a"): True, ("team", "b"): False}


def test_indented_or_repeated_lines_are_not_the_bots() -> None:
    body = (
        "- [ ] <!-- readiness:item team/a --> **A**: why\n"
        "  - [x] <!-- readiness:item team/a --> nested: not an item line\n"
        "- [x] <!-- readiness:item team/a --> a second line for the same key\n"
    )
    assert tracker.parse_checkboxes(body) == {("team", "a"): False}


hostile_text = st.lists(
    st.sampled_from(
        [
            *"ab \n\r\t`*_[]<>!-|&#~\\x\u2028\u0085",
            FORGED,
            FORGED_NONCED,
            "<!--",
            "-->",
            "\n- [ ] ",
            f" n={NONCE}",
        ]
    ),
    min_size=1,
    max_size=30,
).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    titles=st.lists(hostile_text, min_size=1, max_size=5),
    data=st.data(),
)
def test_render_then_parse_returns_the_rendered_states(titles: list[str], data: st.DataObject) -> None:
    whys = data.draw(st.lists(hostile_text, min_size=len(titles), max_size=len(titles)))
    statuses = data.draw(st.lists(st.sampled_from(list(Status)), min_size=len(titles), max_size=len(titles)))
    evidence = data.draw(st.lists(hostile_text, min_size=len(titles), max_size=len(titles)))
    t = template(titles, whys)
    states = {
        f"i{n}": ItemState("team", f"i{n}", status, evidence=ev, actor="maria", reason=ev)
        for n, (status, ev) in enumerate(zip(statuses, evidence, strict=True), 1)
    }
    body = tracker.render_section(t, t.sections[0], states, manual=set(), nonce=NONCE)
    expected = {("team", f"i{n}"): shown_checked(s) for n, s in enumerate(states.values(), 1)}
    assert tracker.parse_checkboxes(body) == expected
    epic = tracker.render_epic(
        repo="o/r", templates=[t], states={"team": states}, numbers={}, last_change=None, nonce=NONCE
    )
    assert tracker.parse_checkboxes(epic) == {}
    assert sum(line.startswith("|") for line in epic.splitlines()) == 3  # header, rule, one row
    single = tracker.render_single(
        repo="o/r", checklists=[(t, set())], states={"team": states}, last_change=None, nonce=NONCE
    )
    assert tracker.parse_checkboxes(single) == expected
    assert tracker.key_from_body(body) == "section:team:s" and tracker.key_from_body(single) == "epic"
    # the same body as an issue written before nonces reads the same
    legacy = body.replace(f" n={NONCE} -->", " -->")
    assert tracker.nonce_of(legacy) is None and tracker.parse_checkboxes(legacy) == expected


def section_body(states: dict[str, ItemState], nonce: str = NONCE) -> str:
    t = template(["Runbook", "On-call rota"], ["On call knows what to do", "Someone answers"])
    return tracker.render_section(t, t.sections[0], states, manual={"i2"}, nonce=nonce)


OPEN = {"i1": ItemState("team", "i1"), "i2": ItemState("team", "i2")}


def test_a_forged_line_with_another_nonce_before_the_real_one_does_not_shadow_it() -> None:
    body = section_body(OPEN)
    real = f"- [ ] <!-- readiness:item team/i2 n={NONCE} -->"
    assert real in body
    for forged in (
        f"- [x] <!-- readiness:item team/i2 n={OTHER} --> copied from another issue",
        "- [x] <!-- readiness:item team/i2 --> no nonce at all",
        "- [x] <!-- readiness:item team/i2 n=0123 --> not a nonce",
    ):
        planted = body.replace(real, f"{forged}\n{real}")
        assert tracker.parse_checkboxes(planted) == {("team", "i1"): False, ("team", "i2"): False}
        # a person's tick on the real line counts, whatever stands before it
        ticked = planted.replace(real, real.replace("[ ]", "[x]"))
        assert tracker.parse_checkboxes(ticked) == {("team", "i1"): False, ("team", "i2"): True}
        assert tracker.changed_boxes(tracker.parse_checkboxes(body), tracker.parse_checkboxes(ticked)) == {
            ("team", "i2"): True
        }


def test_a_forged_header_after_the_real_one_does_not_change_the_nonce() -> None:
    body = section_body(OPEN)
    forged = body.replace("\n\n", f"\n<!-- readiness:section team/s v1 n={OTHER} -->\n\n", 1)
    forged += f"\n- [x] <!-- readiness:item team/i1 n={OTHER} -->"
    assert tracker.nonce_of(forged) == NONCE
    assert tracker.parse_checkboxes(forged) == {("team", "i1"): False, ("team", "i2"): False}


def test_each_issue_kind_carries_its_nonce_in_its_marker() -> None:
    t = template(["Runbook"], ["why"])
    bodies = {
        "section:team:s": section_body(OPEN),
        "epic": tracker.render_epic(
            repo="o/r", templates=[t], states={}, numbers={}, last_change=None, nonce=NONCE
        ),
        "config-error": tracker.render_config_error(filename=".readiness.yml", error="bad", nonce=NONCE),
    }
    for key, body in bodies.items():
        assert body.startswith(tracker.marker_for(key, NONCE)) and body.startswith(tracker.MARKER_PREFIX)
        assert tracker.key_from_body(body) == key and tracker.nonce_of(body) == NONCE


def test_nonces_are_derived_per_issue_and_kept_once_written() -> None:
    salt = "7:2026-01-01T00:00:00.000000"
    nonces = tracker.Nonces("o/r", salt)
    a, b = nonces("section:team:s"), nonces("epic")
    assert a != b and len(a) == tracker.NONCE_LENGTH and set(a) <= set("0123456789abcdef")
    assert tracker.Nonces("o/r", salt)("section:team:s") == a  # stable: a re-planned create matches
    assert tracker.Nonces("o/r", "8:2026-01-01T00:00:00.000000")("section:team:s") != a  # salted
    kept = tracker.Nonces.read_back(
        repo="o/r", salt="other", bodies={"section:team:s": section_body(OPEN, OTHER), "epic": None}
    )
    assert kept("section:team:s") == OTHER  # read back from the body the bot wrote
    assert kept("epic") == tracker.Nonces("o/r", "other")("epic")  # none written yet: derived


def test_a_legacy_body_round_trips_and_is_upgraded_with_its_states() -> None:
    """Issues written before nonces: read with the old rules, a person's change in them counts,
    and the next render writes nonce lines showing every state (ticks, skips, not applicable)."""
    t = template(["Runbook", "On-call rota", "SLOs"], ["a", "b", "c"])
    states = {
        "i1": ItemState("team", "i1", Status.SKIPPED, actor="maria", reason="no on-call here"),
        "i2": ItemState("team", "i2", Status.DONE, actor="maria"),
        "i3": ItemState("team", "i3", Status.SKIPPED, actor=APPLIES_ACTOR, reason="a library"),
    }
    current = tracker.render_section(t, t.sections[0], states, manual={"i2"}, nonce=NONCE)
    legacy = current.replace(f" n={NONCE} -->", " -->")  # exactly what the bot wrote before nonces
    assert " n=" not in legacy and tracker.nonce_of(legacy) is None
    expected = {("team", "i1"): True, ("team", "i2"): True, ("team", "i3"): True}
    assert tracker.parse_checkboxes(legacy) == expected
    untick = legacy.replace("- [x] <!-- readiness:item team/i2 -->", "- [ ] <!-- readiness:item team/i2 -->")
    assert tracker.changed_boxes(tracker.parse_checkboxes(legacy), tracker.parse_checkboxes(untick)) == {
        ("team", "i2"): False
    }
    # the upgrade: the nonce is derived (the legacy body has none) and every line carries it
    nonce = tracker.Nonces.read_back(repo="o/r", salt="s", bodies={"section:team:s": legacy})(
        "section:team:s"
    )
    upgraded = tracker.render_section(t, t.sections[0], states, manual={"i2"}, nonce=nonce)
    assert tracker.nonce_of(upgraded) == nonce and upgraded.count(f" n={nonce} -->") == 4  # marker + 3
    assert tracker.parse_checkboxes(upgraded) == expected
    assert "not applicable (a library)" in upgraded and "skipped by @maria" in upgraded
    assert upgraded.replace(f" n={nonce} -->", " -->") == legacy  # nothing else changed
    # the digest the legacy body was recorded with still matches: no edit just to add the nonce
    before = tracker.DesiredIssue("section:team:s", "T", legacy, "open")
    after = tracker.DesiredIssue("section:team:s", "T", upgraded, "open", nonce=nonce)
    assert before.digest == after.digest
    assert after.digest != dataclasses.replace(after, body=upgraded.replace("[x]", "[ ]", 1)).digest
