"""The core loop over the in-memory platform: onboarding, ticks, regressions, config changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from memory_world import CONFIG, REPO, TEMPLATE, boxes, issues_by_key, push, ref, tick_as, tick_box

from bot.core.events import Event, Kind, Platform, RepoRef
from bot.core.snapshot import SUCCESS, CIResult
from bot.core.templates import parse_template
from bot.jobs.router import Router
from bot.platforms.base import Transient
from bot.platforms.memory import MemoryClient

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=lambda: NOW)
    return client, platform, handler


def writes(platform) -> list:
    return list(platform.writes)


async def test_onboarding_opens_epic_and_linked_sections_with_evidenced_items_ticked(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "app.py": ""})
    [result] = await handler(push("c1"))
    assert result.outcome == "synced"
    issues = issues_by_key(platform)
    assert set(issues) == {"epic", "section:svc:build", "section:svc:ops"}
    epic = issues["epic"]
    assert epic.title == f"Production readiness: {REPO}"
    assert "1 / 4 done (25%)" in epic.body
    build = issues["section:svc:build"]
    assert boxes(build) == {"container": True, "ci-tests": False}
    assert "found `Dockerfile`" in build.body
    children = await platform.list_children(epic)
    assert {c.number for c in children} == {build.number, issues["section:svc:ops"].number}
    assert all(i.state == "open" for i in issues.values())
    assert "readiness" in build.labels


async def test_a_push_that_changes_nothing_makes_no_writes(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
    await handler(push("c1"))
    before = len(writes(platform))
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "README.md": "hi"})
    [result] = await handler(push("c2"))
    assert result.writes == 0
    assert len(writes(platform)) == before


async def test_a_push_that_ticks_one_item_edits_its_section_and_the_epic_only(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
    await handler(push("c1"))
    before = len(writes(platform))
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/db.md": "steps"})
    [result] = await handler(push("c2"))
    new = writes(platform)[before:]
    assert result.writes == 2 and len(new) == 2
    ops = issues_by_key(platform)["section:svc:ops"]
    assert boxes(ops)["runbook"] is True


async def test_ci_success_ticks_and_completed_section_closes(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
    await handler(push("c1"))
    platform.set_ci("c1", [CIResult("tests (3.11)", SUCCESS, url="https://ci/1")])
    await handler(
        Event(Platform("github"), Kind.CI, "check_run", action="completed", repo=ref(), commit="c1")
    )
    build = issues_by_key(platform)["section:svc:build"]
    assert boxes(build) == {"container": True, "ci-tests": True}
    assert build.state == "closed"
    assert "tests (3.11)" in build.body


async def test_regression_reopens_with_a_comment_naming_what_disappeared(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    platform.set_ci("c1", [CIResult("test", SUCCESS)])
    await handler(push("c1"))
    assert issues_by_key(platform)["section:svc:build"].state == "closed"
    platform.set_commit("c2", {".readiness.yml": CONFIG})
    platform.set_ci("c2", [CIResult("test", SUCCESS)])
    await handler(push("c2"))
    build = issues_by_key(platform)["section:svc:build"]
    assert build.state == "open"
    assert boxes(build)["container"] is False
    comments = await platform.list_comments(build.number)
    assert any("Container image" in c.body and "Dockerfile" in c.body for c in comments)


@pytest.mark.parametrize("policy", ["untick", "keep"])
async def test_regression_policies_untick_and_keep(world, policy):
    _, platform, handler = world
    cfg = CONFIG + f"on_regression: {policy}\n"
    platform.set_commit("c1", {".readiness.yml": cfg, "Dockerfile": "x"})
    await handler(push("c1"))
    platform.set_commit("c2", {".readiness.yml": cfg})
    await handler(push("c2"))
    build = issues_by_key(platform)["section:svc:build"]
    assert boxes(build)["container"] is (policy == "keep")
    assert await platform.list_comments(build.number) == []


async def test_a_human_tick_is_recorded_and_survives_reevaluation(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    ops = issues_by_key(platform)["section:svc:ops"]
    await handler(tick_as(platform, "carol", ops, "svc/oncall"))
    ops = issues_by_key(platform)["section:svc:ops"]
    assert boxes(ops)["oncall"] is True
    assert "ticked by @carol" in ops.body
    # a person unticks an automatically ticked item: evidence must not tick it again
    build = issues_by_key(platform)["section:svc:build"]
    await handler(tick_as(platform, "dave", build, "svc/container", ticked=False))
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "y", "docs/runbooks/a.md": "x"})
    await handler(push("c2"))
    assert boxes(issues_by_key(platform)["section:svc:build"])["container"] is False
    assert boxes(issues_by_key(platform)["section:svc:ops"])["oncall"] is True


async def test_the_bots_own_edit_echo_is_ignored(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    ops = issues_by_key(platform)["section:svc:ops"]
    before = len(platform.writes)
    out = await handler(
        Event(
            Platform("github"),
            Kind.ISSUE_EDITED,
            "issues",
            action="edited",
            repo=ref(),
            sender=platform.bot_login,
            sender_is_bot=True,
            body=ops.body,
            previous_body="",
        )
    )
    assert out == [] and len(platform.writes) == before


async def test_a_tick_made_between_read_and_write_is_kept(world):
    """Renovate's bug: a tick made while the bot works must not be reverted by its next write."""
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    ops = issues_by_key(platform)["section:svc:ops"]
    sneaky = tick_box(ops.body, "svc/oncall")
    platform.edit_issue_as("erin", ops.number, sneaky)  # its webhook has not arrived yet
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "x", "docs/runbooks/a.md": "x"})
    await handler(push("c2"))
    ops = issues_by_key(platform)["section:svc:ops"]
    assert boxes(ops) == {"runbook": True, "oncall": True}
    assert ops.state == "closed"


async def test_config_change_adds_and_removes_sections_and_keeps_states(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    first = issues_by_key(platform)
    cfg = "checklists:\n  - id: svc\n    exclude_sections: [ops]\n"
    platform.set_commit("c2", {".readiness.yml": cfg, "Dockerfile": "x"})
    await handler(push("c2"))
    issues = issues_by_key(platform)
    assert issues["section:svc:ops"].state == "closed"
    assert any(
        "no longer part" in c.body for c in await platform.list_comments(first["section:svc:ops"].number)
    )
    assert issues["section:svc:build"].number == first["section:svc:build"].number
    assert boxes(issues["section:svc:build"])["container"] is True
    assert "1 / 2 done" in issues["epic"].body
    # and back
    platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c3"))
    issues = issues_by_key(platform)
    assert issues["section:svc:ops"].number == first["section:svc:ops"].number
    assert issues["section:svc:ops"].state == "open"
    assert len(issues) == 3 and len(platform.issues) == 3


async def test_invalid_config_reports_once_and_closes_when_fixed(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    epic_body = issues_by_key(platform)["epic"].body
    bad = "checklists:\n  - svc\non_regresion: keep\n"
    platform.set_commit("c2", {".readiness.yml": bad, "Dockerfile": "x"})
    [r] = await handler(push("c2"))
    assert r.outcome == "config-error"
    err = issues_by_key(platform)["config-error"]
    assert err.state == "open" and ".readiness.yml:3" in err.body and "on_regression" in err.body
    assert platform.checks[-1].conclusion == "failure" and platform.checks[-1].commit == "c2"
    assert issues_by_key(platform)["epic"].body == epic_body  # the checklist was not touched
    platform.set_commit("c3", {".readiness.yml": bad, "Dockerfile": "x", "x.txt": ""})
    await handler(push("c3"))
    assert len([i for i in platform.issues.values() if "config-error" in i.body]) == 1
    assert len(platform.checks) == 1  # same error: no new noise
    platform.set_commit("c4", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c4"))
    assert issues_by_key(platform)["config-error"].state == "closed"
    assert platform.checks[-1].conclusion == "success"


async def test_config_deleted_closes_epic_and_restoring_restores_it(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c1"))
    platform.set_commit("c2", {"Dockerfile": "x"})
    [r] = await handler(push("c2"))
    assert r.outcome == "no-config"
    epic = issues_by_key(platform)["epic"]
    assert epic.state == "closed"
    assert any("removed" in c.body for c in await platform.list_comments(epic.number))
    platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    await handler(push("c3"))
    issues = issues_by_key(platform)
    assert issues["epic"].state == "open" and issues["epic"].number == epic.number
    assert boxes(issues["section:svc:build"])["container"] is True
    assert len(platform.issues) == 3


async def test_redelivery_and_repeated_syncs_never_duplicate(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    for _ in range(3):
        await handler(push("c1"))
    assert len(platform.issues) == 3


async def test_crash_between_create_and_record_adopts_the_marked_issue(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    # The platform creates the epic, then the next write fails: the job errors out mid-way.
    platform.fail("link_child", Transient("502"))
    with pytest.raises(Transient):
        await handler(push("c1"))
    # Simulate a lost record: the worker died after the create call returned.
    from sqlmodel import select

    from bot.store.db import session_scope
    from bot.store.models import OwnedIssue

    with session_scope(handler.engine) as s:
        row = s.exec(select(OwnedIssue).where(OwnedIssue.key == "section:svc:ops")).one()
        row.number, row.platform_issue_id, row.state = None, None, "intent"
        s.add(row)
    await handler(push("c1"))
    assert len(platform.issues) == 3
    epic = issues_by_key(platform)["epic"]
    assert len(await platform.list_children(epic)) == 2


async def test_installation_event_onboards_repositories_that_have_config(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    ev = Event(
        Platform("github"),
        Kind.INSTALLATION,
        "installation",
        action="created",
        installation_id=7,
        repos_added=(RepoRef(Platform("github"), REPO, id=1),),
    )
    [r] = await handler(ev)
    assert r.outcome == "synced" and len(platform.issues) == 3


async def test_push_to_another_branch_is_ignored(world):
    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG})
    ev = Event(Platform("github"), Kind.PUSH, "push", repo=ref(), ref="refs/heads/feature", commit="c1")
    assert await handler(ev) == []
    assert platform.issues == {}


async def test_organisation_default_config_is_merged_under_the_repositorys(engine):
    client = MemoryClient()
    platform = client.add_repo(REPO)
    org = client.add_repo("octo-org/.github")
    org.set_commit("o1", {".readiness.yml": "checklists:\n  - svc\nissues:\n  labels: [platform-team]\n"})
    # the repository's own file only sets the regression policy: checklists and labels come from the org
    platform.set_commit("c1", {".readiness.yml": "on_regression: keep\n", "Dockerfile": "x"})
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=lambda: NOW)
    await handler(push("c1"))
    issues = issues_by_key(platform)
    assert set(issues) == {"epic", "section:svc:build", "section:svc:ops"}
    assert issues["section:svc:build"].labels == ("platform-team",)
    # `extends: false` stands alone: the org's labels no longer apply, the default one does; the
    # bot adds labels but never removes one a person (or an earlier config) put on an issue
    platform.set_commit("c2", {".readiness.yml": "extends: false\nchecklists: [svc]\n", "Dockerfile": "x"})
    await handler(push("c2"))
    assert issues_by_key(platform)["section:svc:build"].labels == ("platform-team", "readiness")


async def test_sync_stores_the_summary_schedule_the_scheduler_reads(world):
    from sqlmodel import select

    from bot.jobs.scheduler import enqueue_summaries
    from bot.store.db import session_scope
    from bot.store.models import Repository

    _, platform, handler = world
    cfg = CONFIG + "summary: {day: tuesday, time: '07:30', timezone: Europe/Berlin}\n"
    platform.set_commit("c1", {".readiness.yml": cfg})
    await handler(push("c1"))
    with session_scope(handler.engine) as s:
        assert s.exec(select(Repository.summary_schedule)).one() == "tuesday 07:30 Europe/Berlin"
    tuesday_0631_utc = datetime(2026, 11, 24, 6, 31, tzinfo=UTC)  # 07:31 in Berlin
    assert enqueue_summaries(handler.engine, now=tuesday_0631_utc) == 1
    platform.set_commit("c2", {".readiness.yml": CONFIG + "summary: off\n"})
    await handler(push("c2"))
    with session_scope(handler.engine) as s:
        assert s.exec(select(Repository.summary_schedule)).one() is None
    assert enqueue_summaries(handler.engine, now=tuesday_0631_utc.replace(hour=8)) == 0


async def test_a_refused_sub_issue_link_does_not_fail_the_sync(world):
    from bot.platforms.base import Invalid

    _, platform, handler = world
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "x"})
    platform.fail("link_child", Invalid("422 parent already has 100 sub-issues"), times=2)
    [result] = await handler(push("c1"))
    assert result.outcome == "synced"
    issues = issues_by_key(platform)
    assert set(issues) == {"epic", "section:svc:build", "section:svc:ops"}
    assert f"#{issues['section:svc:build'].number}" in issues["epic"].body  # still listed in the epic


async def test_a_repository_override_for_an_item_the_org_default_brings_in(engine):
    """Valid only once merged: the repository skips an item of a checklist only the org chooses."""
    client = MemoryClient()
    platform = client.add_repo(REPO)
    org = client.add_repo("octo-org/.github")
    org.set_commit("o1", {".readiness.yml": "checklists:\n  - svc\n"})
    platform.set_commit("c1", {".readiness.yml": 'items:\n  svc/oncall: {skip: "No pager"}\n'})
    shipped = {"svc": parse_template(TEMPLATE, filename="svc.yaml")}
    handler = Router(engine, {"github": client}, shipped, clock=lambda: NOW)
    [result] = await handler(push("c1"))
    assert result.outcome == "synced"
    assert "skipped in `.readiness.yml`: No pager" in issues_by_key(platform)["section:svc:ops"].body


async def test_an_item_for_other_topics_is_not_applicable_and_unknown_topics_rule_nothing_out(engine):
    from bot.store import repos
    from bot.store.db import session_scope

    template = TEMPLATE.replace(
        "        manual: true\n",
        "        manual: true\n        applies_when: {topics: [service, microservice]}\n",
    )
    client = MemoryClient()
    platform = client.add_repo(REPO)
    handler = Router(
        engine, {"github": client}, {"svc": parse_template(template, filename="svc.yaml")}, clock=lambda: NOW
    )
    platform.set_commit("c1", {".readiness.yml": CONFIG, "Dockerfile": "FROM python"})
    await handler(push("c1"))  # no payload has said what the topics are: the item is asked for
    ops = issues_by_key(platform)["section:svc:ops"]
    assert "oncall" in boxes(ops) and "not applicable" not in ops.body
    with session_scope(engine) as s:  # as the dispatcher records a payload's `repository.topics`
        repos.upsert_repository(s, platform="github", full_name=REPO, now=NOW, topics=["library"])
    platform.set_commit("c2", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "x.py": ""})
    await handler(push("c2"))
    ops = issues_by_key(platform)["section:svc:ops"]
    assert "not applicable (the repository has none of the topics service or microservice)" in ops.body
    with session_scope(engine) as s:
        repos.upsert_repository(s, platform="github", full_name=REPO, now=NOW, topics=["microservice"])
    platform.set_commit("c3", {".readiness.yml": CONFIG, "Dockerfile": "FROM python", "y.py": ""})
    await handler(push("c3"))
    assert "not applicable" not in issues_by_key(platform)["section:svc:ops"].body
