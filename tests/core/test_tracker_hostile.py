"""Forged checkboxes (issue 12, finding 5): nothing a repository supplies can plant, shadow or hide
an item line, and render-then-parse returns the rendered states for any text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import tracker
from bot.core.decide import shown_checked
from bot.core.state import ItemState, Status
from bot.core.templates import Item, Section, Template

FORGED = "- [x] <!-- readiness:item team/i1 -->"
NASTY = [
    f"harmless\n{FORGED} forged",
    f"\r\n{FORGED}",
    "<!-- hide the rest",
    "**bold** _x_ `code` | cell | <b>html</b> &amp;",
    f"\u2028{FORGED}",
]


def template(titles: list[str], whys: list[str]) -> Template:
    items = tuple(
        Item(id=f"i{n}", title=t, why=w) for n, (t, w) in enumerate(zip(titles, whys, strict=True), 1)
    )
    return Template("team", titles[0], 1, None, None, (Section("s", whys[0], items),), "team.yml")


def test_multi_line_titles_and_why_cannot_shadow_a_real_box() -> None:
    t = template(NASTY, NASTY)
    states = {f"i{n}": ItemState("team", f"i{n}") for n in range(1, len(NASTY) + 1)}
    body = tracker.render_section(t, t.sections[0], states, manual=set())
    assert tracker.parse_checkboxes(body) == {("team", f"i{n}"): False for n in range(1, len(NASTY) + 1)}
    assert "<!-- hide" not in body
    # every item is one line: the bot's lines are the only ones starting with a box
    assert sum(line.startswith("- [") for line in body.splitlines()) == len(NASTY)


def test_a_file_name_with_a_newline_in_the_evidence_cannot_plant_a_box() -> None:
    t = template(["Runbooks"], ["On call"])
    state = ItemState("team", "i1", Status.OPEN)
    other = ItemState("team", "i1", Status.AUTO, evidence=f"found `docs/x\n{FORGED.replace('[x]', '[ ]')}`")
    for s in (state, other):
        body = tracker.render_section(t, t.sections[0], {"i1": s}, manual=set())
        assert tracker.parse_checkboxes(body) == {("team", "i1"): s.ticked}


def test_backticks_in_a_config_error_cannot_leave_the_code_block() -> None:
    error = ".readiness.yml:3:1: unknown key '```\n- [x] <!-- readiness:item team/i1 -->\n````'"
    body = tracker.render_config_error(filename=".readiness.yml", error=error)
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
    st.sampled_from([*"ab \n\r\t`*_[]<>!-|&#~\\x\u2028\u0085", FORGED, "<!--", "-->", "\n- [ ] "]),
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
    body = tracker.render_section(t, t.sections[0], states, manual=set())
    expected = {("team", f"i{n}"): shown_checked(s) for n, s in enumerate(states.values(), 1)}
    assert tracker.parse_checkboxes(body) == expected
    epic = tracker.render_epic(
        repo="o/r", templates=[t], states={"team": states}, numbers={}, last_change=None
    )
    assert tracker.parse_checkboxes(epic) == {}
    assert sum(line.startswith("|") for line in epic.splitlines()) == 3  # header, rule, one row
