"""GitLab end to end: token-verified hooks → app → worker → sync → GitLab REST (`responses` fake).

GitLab has no issue-under-issue on Free: the epic is an issue, sections are issues linked to it
(`relates_to`) and listed in its description. The fake's GraphQL answers like a GitLab without work
items, so these runs cover the fallback from child tasks to links; one run has the hierarchy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests
import responses
import respx
from platforms.conftest import FakeClock
from platforms.contract import SPEC, SeedIssue
from platforms.gitlab_fake import BASE, PROJECT_ID, FakeGitLab
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from bot.core import tracker
from bot.jobs.router import Router
from bot.platforms.gitlab.client import GitLabClient
from bot.resources import load_shipped
from e2e.conftest import (
    Bot,
    Clock,
    base_files,
    fixture,
    new_delivery,
    running_bot,
    tick_box,
    with_sbom_item,
)

TOKEN = "e2e-gitlab-hook-token"
REPO = SPEC.full_name
HEAD1 = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
HEAD2 = "da1560886d4f094c3e6c9ef40349f7d38b5d27d8"
HEAD3 = "da1560886d4f094c3e6c9ef40349f7d38b5d27d9"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database_url=db_url, gitlab_webhook_secret=TOKEN, gitlab_url=BASE, gitlab_token="glpat-e2e"
    )


@pytest.fixture
def fake() -> AsyncIterator[FakeGitLab]:
    spec = dataclasses.replace(
        SPEC,
        bot_login="readiness-bot",
        files={},
        ci=(),
        labels=(),
        issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
        comments=(),
    )
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
        respx.mock(assert_all_called=False) as router,
    ):
        fake = FakeGitLab(spec, rsps)
        fake.graphql.mode = "unsupported"  # READINESS_GITLAB_HIERARCHY=auto falls back to links
        fake.graphql.mount(router)
        fake.pipelines.clear()
        fake.external.clear()
        fake.push(HEAD1, base_files(Dockerfile="FROM python:3.11\n"))
        yield fake


@pytest.fixture
async def bot(settings: Settings, engine: Engine, fake: FakeGitLab) -> AsyncIterator[Bot]:
    clock = FakeClock()
    client = GitLabClient(settings, session=requests.Session(), clock=clock, sleep=clock.sleep)
    handler = Router(engine, {"gitlab": client}, load_shipped())
    async with running_bot(settings, engine, handler, Clock()) as b:
        yield b
    await client.aclose()


def _project() -> dict[str, Any]:
    project = fixture("gitlab", "push.json")["project"]
    project.update(id=PROJECT_ID, path_with_namespace=REPO, default_branch="main", name="widgets")
    return project


def push_payload(after: str, before: str = "0" * 40) -> dict[str, Any]:
    p = fixture("gitlab", "push.json")
    p.update(
        before=before,
        after=after,
        checkout_sha=after,
        ref="refs/heads/main",
        project_id=PROJECT_ID,
        project=_project(),
    )
    return p


def pipeline_payload(sha: str, jobs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    p = fixture("gitlab", "pipeline.json")
    p["object_attributes"].update(sha=sha, ref="main", status="success", tag=False)
    p["builds"] = [{**p["builds"][0], "name": n, "status": s} for n, s in jobs]
    p["project"] = _project()
    return p


def issue_payload(issue: dict[str, Any], previous: str, username: str) -> dict[str, Any]:
    p = fixture("gitlab", "issue.json")
    p["object_attributes"].update(
        iid=issue["iid"], id=issue["id"], description=issue["description"], action="update", state="opened"
    )
    p["changes"] = {"description": {"previous": previous, "current": issue["description"]}}
    p["user"].update(username=username, name=username)
    p["project"] = _project()
    return p


async def deliver(bot: Bot, event: str, payload: dict[str, Any], uuid: str | None = None) -> httpx.Response:
    headers = {
        "x-gitlab-event": event,
        "x-gitlab-token": TOKEN,
        "x-gitlab-event-uuid": uuid or new_delivery(),
    }
    return await bot.post("/webhooks/gitlab", json.dumps(payload).encode(), headers)


def ours(fake: FakeGitLab) -> dict[str, dict[str, Any]]:
    out = {}
    for issue in fake.issues.values():
        key = tracker.key_from_body(issue["description"])
        if key and issue["author"]["username"] == "readiness-bot":
            assert key not in out, f"duplicate issue for {key}"
            out[key] = issue
    return out


def boxes(issue: dict[str, Any]) -> dict[str, bool]:
    return {item: v for (_, item), v in tracker.parse_checkboxes(issue["description"]).items()}


def linked_to(fake: FakeGitLab, iid: int) -> set[int]:
    return {dst if src == iid else src for _, src, dst in fake.links if iid in (src, dst)}


async def onboard(bot: Bot, fake: FakeGitLab) -> dict[str, dict[str, Any]]:
    assert (await deliver(bot, "Push Hook", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    return ours(fake)


async def test_push_onboards_epic_and_linked_section_issues(bot: Bot, fake: FakeGitLab) -> None:
    issues = await onboard(bot, fake)
    assert set(issues) == {"epic", "section:service:build", "section:service:operations"}
    epic, build, ops = issues["epic"], issues["section:service:build"], issues["section:service:operations"]
    assert epic["title"] == f"Production readiness: {REPO}"
    assert f"#{build['iid']}" in epic["description"] and f"#{ops['iid']}" in epic["description"]
    assert linked_to(fake, epic["iid"]) == {build["iid"], ops["iid"]}
    assert fake.graphql.operations == ["workItemTypes"]  # refused once, then links only
    assert boxes(build) == {"container": True, "ci-tests": False}
    assert all(i["state"] == "opened" for i in issues.values())
    assert "readiness" in build["labels"]


async def test_sections_become_child_tasks_where_gitlab_allows(bot: Bot, fake: FakeGitLab) -> None:
    fake.graphql.mode = "hierarchy"
    issues = await onboard(bot, fake)
    epic, build, ops = issues["epic"], issues["section:service:build"], issues["section:service:operations"]
    assert fake.graphql.children_of(epic["iid"]) == [build["iid"], ops["iid"]]
    assert (build["type"], ops["type"], epic["type"]) == ("TASK", "TASK", "ISSUE")
    # sections are created as tasks (REST issue_type=task): none needs converting
    assert fake.graphql.operations.count("workItemConvert") == 0
    assert linked_to(fake, epic["iid"]) == set()  # no relates_to links needed
    assert f"#{build['iid']}" in epic["description"] and boxes(build) == {
        "container": True,
        "ci-tests": False,
    }
    # A push after onboarding edits the task sections over REST and links nothing twice.
    fake.push(HEAD2, base_files(Dockerfile="FROM x\n", **{"docs/runbooks/db.md": "# Restore\n"}))
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    assert boxes(ours(fake)["section:service:operations"])["runbook"] is True
    assert fake.graphql.operations.count("workItemSetParent") == 2


async def test_pipeline_success_ticks_and_closes_the_section(bot: Bot, fake: FakeGitLab) -> None:
    await onboard(bot, fake)
    fake.push(HEAD1, base_files(Dockerfile="FROM python:3.11\n"), jobs=(("test-unit", "success"),))
    assert (
        await deliver(bot, "Pipeline Hook", pipeline_payload(HEAD1, (("test-unit", "success"),)))
    ).status_code == 202
    await bot.drain()
    build = ours(fake)["section:service:build"]
    assert boxes(build) == {"container": True, "ci-tests": True}
    assert build["state"] == "closed"


async def test_file_push_ticks_and_removal_reopens_with_a_note(bot: Bot, fake: FakeGitLab) -> None:
    await onboard(bot, fake)
    fake.push(HEAD2, base_files(Dockerfile="FROM x\n", **{"docs/runbooks/db.md": "# Restore\n"}))
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    assert boxes(ours(fake)["section:service:operations"])["runbook"] is True
    fake.push(HEAD3, base_files())
    await deliver(bot, "Push Hook", push_payload(HEAD3, HEAD2))
    await bot.drain()
    build = ours(fake)["section:service:build"]
    assert boxes(build)["container"] is False
    assert any("Dockerfile" in n["body"] for n in fake.notes[build["iid"]])


async def test_a_human_tick_in_gitlab_is_kept(bot: Bot, fake: FakeGitLab) -> None:
    ops = (await onboard(bot, fake))["section:service:operations"]
    previous = ops["description"]
    ops["description"] = tick_box(previous, "service/oncall")
    await deliver(bot, "Issue Hook", issue_payload(ops, previous, "octocat"))
    await bot.drain()
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops)["oncall"] is True and "ticked by @octocat" in ops["description"]
    fake.push(HEAD2, base_files(Dockerfile="FROM x\n", **{"docs/runbooks/a.md": "x"}))
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops) == {"runbook": True, "oncall": True} and ops["state"] == "closed"


async def test_a_human_tick_in_a_task_section_arrives_as_a_work_item_hook(bot: Bot, fake: FakeGitLab) -> None:
    # Sections that are child tasks send "Issue Hook" with object_kind "work_item" (type "Task").
    fake.graphql.mode = "hierarchy"
    ops = (await onboard(bot, fake))["section:service:operations"]
    assert ops["type"] == "TASK"
    previous = ops["description"]
    ops["description"] = tick_box(previous, "service/oncall")
    payload = issue_payload(ops, previous, "octocat")
    payload["object_kind"] = payload["event_type"] = "work_item"
    payload["object_attributes"]["type"] = "Task"
    assert (await deliver(bot, "Issue Hook", payload)).status_code == 202
    await bot.drain()
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops)["oncall"] is True and "ticked by @octocat" in ops["description"]


async def test_invalid_config_sets_a_failed_status_and_one_issue(bot: Bot, fake: FakeGitLab) -> None:
    await onboard(bot, fake)
    files = base_files(Dockerfile="FROM x\n")
    files[".readiness.yml"] = "checklists: [servce]\n"
    fake.push(HEAD2, files)
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    err = ours(fake)["config-error"]
    assert err["state"] == "opened" and "servce" in err["description"]
    assert [s["status"] for s in fake.posted_statuses if s["sha"] == HEAD2] == ["failed"]
    fake.push(HEAD3, base_files(Dockerfile="FROM x\n"))
    await deliver(bot, "Push Hook", push_payload(HEAD3, HEAD2))
    await bot.drain()
    assert ours(fake)["config-error"]["state"] == "closed"


async def test_redelivered_and_concurrent_hooks_make_one_set(bot: Bot, fake: FakeGitLab) -> None:
    uuid = new_delivery()
    payload = push_payload(HEAD1)
    a, b = await asyncio.gather(
        deliver(bot, "Push Hook", payload, uuid), deliver(bot, "Push Hook", payload, uuid)
    )
    assert sorted([a.status_code, b.status_code]) == [200, 202]
    await asyncio.gather(deliver(bot, "Push Hook", payload), deliver(bot, "Push Hook", payload))
    await bot.drain()
    assert set(ours(fake)) == {"epic", "section:service:build", "section:service:operations"}


async def test_unhandled_gitlab_events_are_acknowledged(bot: Bot, fake: FakeGitLab) -> None:
    resp = await deliver(bot, "Merge Request Hook", fixture("gitlab", "merge_request.json"))
    assert resp.status_code in (200, 202)
    await bot.drain()
    assert ours(fake) == {}


@pytest.mark.parametrize("policy", ["untick", "keep"])
async def test_evidence_removed_under_the_quiet_policies(bot: Bot, fake: FakeGitLab, policy: str) -> None:
    files = base_files(Dockerfile="FROM x\n")
    files[".readiness.yml"] += f"on_regression: {policy}\n"
    fake.push(HEAD1, files)
    await onboard(bot, fake)
    files.pop("Dockerfile")
    fake.push(HEAD2, files)
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    build = ours(fake)["section:service:build"]
    assert boxes(build)["container"] is (policy == "keep")
    assert [n for n in fake.notes[build["iid"]] if not n.get("system")] == []


async def test_config_change_adds_and_removes_items_keeping_states(bot: Bot, fake: FakeGitLab) -> None:
    first = await onboard(bot, fake)
    files = base_files(Dockerfile="FROM x\n")
    files[".readiness.yml"] += "    exclude_sections: [operations]\n"
    fake.push(HEAD2, files)
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    ops_iid = first["section:service:operations"]["iid"]
    assert ours(fake)["section:service:operations"]["state"] == "closed"
    assert any("no longer part" in n["body"] for n in fake.notes[ops_iid])
    files = with_sbom_item(base_files(Dockerfile="FROM x\n"))
    fake.push(HEAD3, files)
    await deliver(bot, "Push Hook", push_payload(HEAD3, HEAD2))
    await bot.drain()
    issues = ours(fake)
    assert boxes(issues["section:service:build"]) == {"container": True, "ci-tests": False, "sbom": False}
    assert issues["section:service:operations"]["iid"] == ops_iid
    assert issues["section:service:operations"]["state"] == "opened"


async def test_config_deleted_closes_epic_and_restoring_restores(bot: Bot, fake: FakeGitLab) -> None:
    first = await onboard(bot, fake)
    fake.push(HEAD2, {"README.md": "# widgets\n", "Dockerfile": "FROM x\n"})
    await deliver(bot, "Push Hook", push_payload(HEAD2, HEAD1))
    await bot.drain()
    epic = ours(fake)["epic"]
    assert epic["state"] == "closed" and any("removed" in n["body"] for n in fake.notes[epic["iid"]])
    fake.push(HEAD3, base_files(Dockerfile="FROM x\n"))
    await deliver(bot, "Push Hook", push_payload(HEAD3, HEAD2))
    await bot.drain()
    issues = ours(fake)
    assert issues["epic"]["state"] == "opened" and issues["epic"]["iid"] == first["epic"]["iid"]
    assert boxes(issues["section:service:build"])["container"] is True


async def test_failure_between_create_and_record_adopts_instead_of_duplicating(
    bot: Bot, fake: FakeGitLab
) -> None:
    # The second section's create reaches GitLab but the answer is lost (502 after the fact).
    calls: list[int] = []
    real = fake._create_issue

    def lossy(body: dict[str, Any], **kw: Any) -> Any:
        reply = real(body, **kw)
        calls.append(reply[0])
        return (502, {}, {"message": "502 Bad Gateway"}) if len(calls) == 2 else reply

    fake.routes = [(m, rx, lossy if h == real else h) for m, rx, h in fake.routes]
    await deliver(bot, "Push Hook", push_payload(HEAD1))
    await bot.drain()
    assert len(calls) >= 2  # the second create reached the platform and its answer was lost
    # (the retry may already have run: full-jitter backoff can be due at once)
    bot.clock.advance(hours=2)
    await bot.drain()
    issues = ours(fake)  # raises on duplicates
    assert set(issues) == {"epic", "section:service:build", "section:service:operations"}
    assert linked_to(fake, issues["epic"]["iid"]) == {
        issues["section:service:build"]["iid"],
        issues["section:service:operations"]["iid"],
    }
