"""GitHub end to end: signed webhooks → app → queue → worker → sync → GitHub REST (respx fake).

Assertions are about the issues a user would see on GitHub: titles, bodies, checkboxes, open or
closed, and sub-issue links.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from platforms.conftest import FakeClock
from platforms.contract import SPEC, SeedIssue
from platforms.fake_github import INSTALLATION_ID, FakeGitHub
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from bot.core import tracker
from bot.core.snapshot import SUCCESS, CIResult
from bot.core.yamlload import MAX_FILE_BYTES
from bot.jobs.handlers import make_handler
from bot.jobs.router import Router
from bot.jobs.worker import Worker
from bot.platforms.github.client import GitHubClient
from bot.platforms.github.verify import github_signature
from bot.resources import load_shipped
from e2e.conftest import (
    CONFIG,
    TEMPLATE_PATH,
    Bot,
    Clock,
    base_files,
    fixture,
    new_delivery,
    running_bot,
    tick_box,
    with_sbom_item,
)

SECRET = "e2e-github-secret"
API = "https://github.test/api/v3"
REPO = SPEC.full_name
OWNER, NAME = REPO.split("/")


@pytest.fixture
def settings(db_url: str, rsa_pair: tuple[str, str]) -> Settings:
    return load_settings(
        database_url=db_url,
        github_webhook_secret=SECRET,
        github_app_id=123456,
        github_private_key=rsa_pair[0],
        github_api_url=API,
    )


@pytest.fixture
def fake(rsa_pair: tuple[str, str]) -> FakeGitHub:
    spec = dataclasses.replace(
        SPEC,
        files={},
        ci=(),
        labels=(),
        issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
        comments=(),
    )
    fake = FakeGitHub(spec, API, public_key=rsa_pair[1], now=FakeClock())
    fake.push("c0ffee0000000000000000000000000000000001", base_files(Dockerfile="FROM python:3.11\n"))
    return fake


@pytest.fixture
async def bot(settings: Settings, engine: Engine, fake: FakeGitHub) -> AsyncIterator[Bot]:
    clock = FakeClock()
    with respx.mock(base_url=fake.host, assert_all_called=False) as router:
        router.route().mock(side_effect=fake)
        client = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False)
        handler = Router(engine, {"github": client}, load_shipped())
        async with running_bot(settings, engine, handler, Clock()) as b:
            yield b
        await client.aclose()


# ----------------------------------------------------------------------------------- payloads


def _repo_json() -> dict[str, Any]:
    repo = fixture("github", "push.with-new-branch.payload.json")["repository"]
    repo.update(full_name=REPO, name=NAME, default_branch="main", master_branch="main", id=1296269)
    repo["owner"].update(login=OWNER, name=OWNER)
    return repo


def _installation() -> dict[str, Any]:
    return {"id": INSTALLATION_ID, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg=="}


def push_payload(after: str, before: str = "0" * 40) -> dict[str, Any]:
    p = fixture("github", "push.with-new-branch.payload.json")
    p.update(
        ref="refs/heads/main",
        before=before,
        after=after,
        repository=_repo_json(),
        installation=_installation(),
    )
    p["created"] = False
    p["head_commit"]["id"] = after
    return p


def check_run_payload(head: str, name: str, conclusion: str = "success") -> dict[str, Any]:
    p = fixture("github", "check_run.completed.payload.json")
    p["check_run"].update(name=name, head_sha=head, conclusion=conclusion, status="completed")
    p["check_run"]["check_suite"].update(head_sha=head, head_branch="main")
    p.update(repository=_repo_json(), installation=_installation())
    return p


def installation_payload() -> dict[str, Any]:
    p = fixture("github", "installation.created.payload.json")
    p["installation"].update(id=INSTALLATION_ID)
    p["installation"]["account"].update(login=OWNER)
    p["repositories"] = [{"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": NAME,
                          "full_name": REPO, "private": False}]  # fmt: skip
    return p


def edited_payload(issue: dict[str, Any], previous: str, login: str, kind: str = "User") -> dict[str, Any]:
    p = fixture("github", "issues.edited.payload.json")
    p["issue"] = json.loads(json.dumps(issue))
    p["changes"] = {"body": {"from": previous}}
    p["sender"].update(login=login, type=kind)
    p.update(repository=_repo_json(), installation=_installation())
    return p


async def deliver(
    bot: Bot, event: str, payload: dict[str, Any], delivery: str | None = None
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "x-github-event": event,
        "x-github-delivery": delivery or new_delivery(),
        "x-hub-signature-256": github_signature(SECRET, body),
        "user-agent": "GitHub-Hookshot/e2e",
    }
    return await bot.post("/webhooks/github", body, headers)


# ------------------------------------------------------------------------------- inspection


def ours(fake: FakeGitHub) -> dict[str, dict[str, Any]]:
    out = {}
    for issue in fake.issues.values():
        key = tracker.key_from_body(issue.get("body"))
        if key and "pull_request" not in issue and issue["user"]["login"] == "readiness-bot[bot]":
            assert key not in out, f"duplicate issue for {key}"
            out[key] = issue
    return out


def boxes(issue: dict[str, Any]) -> dict[str, bool]:
    return {item: v for (_, item), v in tracker.parse_checkboxes(issue["body"]).items()}


def writes(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [
        (m, p)
        for m, p, _ in fake.log
        if m in ("POST", "PATCH", "DELETE") and "access_tokens" not in p and p != "/graphql"
    ]


HEAD1 = "c0ffee0000000000000000000000000000000001"
HEAD2 = "c0ffee0000000000000000000000000000000002"
HEAD3 = "c0ffee0000000000000000000000000000000003"


async def onboard(bot: Bot, fake: FakeGitHub) -> dict[str, dict[str, Any]]:
    assert (await deliver(bot, "push", push_payload(HEAD1))).status_code == 202
    await bot.drain()
    return ours(fake)


# ------------------------------------------------------------------------------------ tests


async def test_installation_onboards_epic_and_sub_issues(bot: Bot, fake: FakeGitHub) -> None:
    resp = await deliver(bot, "installation", installation_payload())
    assert resp.status_code == 202
    await bot.drain()
    issues = ours(fake)
    assert set(issues) == {"epic", "section:service:build", "section:service:operations"}
    epic, build, ops = issues["epic"], issues["section:service:build"], issues["section:service:operations"]
    assert epic["title"] == f"Production readiness: {REPO}"
    assert "1 / 4 done (25%)" in epic["body"]
    assert f"#{build['number']}" in epic["body"] and f"#{ops['number']}" in epic["body"]
    assert build["title"] == "Readiness · Service basics: Build and delivery"
    assert boxes(build) == {"container": True, "ci-tests": False}
    assert "found `Dockerfile`" in build["body"]
    assert boxes(ops) == {"runbook": False, "oncall": False}
    # sections are sub-issues of the epic, linked by issue id (not number)
    assert sorted(fake.children[epic["number"]]) == sorted([build["number"], ops["number"]])
    assert [lbl["name"] for lbl in build["labels"]] == ["readiness"]
    assert all(i["state"] == "open" for i in issues.values())


async def test_push_that_adds_a_runbook_ticks_it_and_changes_nothing_else(bot: Bot, fake: FakeGitHub) -> None:
    await onboard(bot, fake)
    before = len(writes(fake))
    fake.push(HEAD2, base_files(Dockerfile="FROM python:3.11\n", **{"docs/runbooks/db.md": "# Restore\n"}))
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    new = writes(fake)[before:]
    issues = ours(fake)
    assert boxes(issues["section:service:operations"])["runbook"] is True
    assert "2 / 4 done (50%)" in issues["epic"]["body"]
    assert len(new) == 2 and all(m == "PATCH" for m, _ in new)  # the section and the epic


async def test_contains_rules_read_their_files_in_one_graphql_query(bot: Bot, fake: FakeGitHub) -> None:
    # an extra rule searches every Markdown file: the sync fetches them in one batch, not one by one
    config = CONFIG + "items:\n  runbook:\n    evidence: {contains: {files: '*.md', pattern: 'Restore'}}\n"
    docs = {f"docs/notes/n{i}.md": f"# Note {i}\n" for i in range(30)}
    docs.update({".readiness.yml": config, "ops.md": "Restore: run db.sh\n"})
    for head, before, dockerfile in ((HEAD2, HEAD1, "FROM x\n"), (HEAD3, HEAD2, "FROM y\n")):
        fake.push(head, base_files(Dockerfile=dockerfile, **docs))
        await deliver(bot, "push", push_payload(head, before))
        await bot.drain()
        assert "`ops.md:1` matches `Restore`" in ours(fake)["section:service:operations"]["body"]
        reads = [p for m, p, _ in fake.log if (m, p) == ("POST", "/graphql") or "/contents/" in p]
        # README, ops.md and the 30 notes in one query; the second push changes no Markdown file,
        # so their cached blobs are used and nothing is read again
        assert reads.count("/graphql") == 1
        assert all(".readiness.yml" in p or "service.yml" in p for p in reads if p != "/graphql")


async def test_push_that_changes_nothing_writes_nothing(bot: Bot, fake: FakeGitHub) -> None:
    await onboard(bot, fake)
    before = len(writes(fake))
    fake.push(HEAD2, base_files(Dockerfile="FROM python:3.12\n", **{"src/app.py": "print()\n"}))
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    assert writes(fake)[before:] == []


async def test_ci_success_ticks_and_closes_the_completed_section(bot: Bot, fake: FakeGitHub) -> None:
    await onboard(bot, fake)
    fake.push(HEAD1, base_files(Dockerfile="FROM python:3.11\n"), ci=(CIResult("tests (3.11)", SUCCESS),))
    await deliver(bot, "check_run", check_run_payload(HEAD1, "tests (3.11)"))
    await bot.drain()
    build = ours(fake)["section:service:build"]
    assert boxes(build) == {"container": True, "ci-tests": True}
    assert build["state"] == "closed"
    assert "tests (3.11)" in build["body"]


@pytest.mark.parametrize("policy", ["reopen", "untick", "keep"])
async def test_evidence_removed_under_each_policy(bot: Bot, fake: FakeGitHub, policy: str) -> None:
    files = base_files(Dockerfile="FROM x\n")
    files[".readiness.yml"] += f"on_regression: {policy}\n"
    fake.push(HEAD1, files, ci=(CIResult("test", SUCCESS),))
    await onboard(bot, fake)
    build = ours(fake)["section:service:build"]
    assert build["state"] == "closed"
    files.pop("Dockerfile")
    fake.push(HEAD2, files, ci=(CIResult("test", SUCCESS),))
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    build = ours(fake)["section:service:build"]
    comments = [c["body"] for c in fake.comments.get(build["number"], [])]
    if policy == "keep":
        assert boxes(build)["container"] is True and build["state"] == "closed" and comments == []
    elif policy == "untick":
        assert boxes(build)["container"] is False and build["state"] == "open" and comments == []
    else:
        assert boxes(build)["container"] is False and build["state"] == "open"
        assert len(comments) == 1 and "Container image" in comments[0] and "Dockerfile" in comments[0]


async def test_a_human_tick_is_recorded_and_survives_reevaluation(bot: Bot, fake: FakeGitHub) -> None:
    issues = await onboard(bot, fake)
    ops = issues["section:service:operations"]
    previous = ops["body"]
    ticked = tick_box(previous, "service/oncall")
    issue = fake.edit_issue_as("octocat", ops["number"], ticked)
    await deliver(bot, "issues", edited_payload(issue, previous, "octocat"))
    await bot.drain()
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops)["oncall"] is True and "ticked by @octocat" in ops["body"]
    # our own edit comes back as a webhook: ignored, no further writes
    before = len(writes(fake))
    await deliver(bot, "issues", edited_payload(ops, ticked, "readiness-bot[bot]", kind="Bot"))
    await bot.drain()
    assert writes(fake)[before:] == []
    # a later push re-evaluates everything; the person's tick stays
    fake.push(HEAD2, base_files(**{"docs/runbooks/a.md": "x"}))
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    ops = ours(fake)["section:service:operations"]
    assert boxes(ops) == {"runbook": True, "oncall": True} and ops["state"] == "closed"
    assert boxes(ours(fake)["section:service:build"])["container"] is False  # Dockerfile removed


async def test_config_change_adds_and_removes_items_keeping_states(bot: Bot, fake: FakeGitHub) -> None:
    first = await onboard(bot, fake)
    files = base_files(Dockerfile="FROM x\n")
    files[".readiness.yml"] += "    exclude_sections: [operations]\n"
    fake.push(HEAD2, files)
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    issues = ours(fake)
    ops_number = first["section:service:operations"]["number"]
    assert issues["section:service:operations"]["state"] == "closed"
    assert any("no longer part" in c["body"] for c in fake.comments[ops_number])
    assert "1 / 2 done (50%)" in issues["epic"]["body"]
    # a new item appears in the template; the existing tick survives (matched by item id)
    files = with_sbom_item(base_files(Dockerfile="FROM x\n"))
    fake.push(HEAD3, files)
    await deliver(bot, "push", push_payload(HEAD3, HEAD2))
    await bot.drain()
    issues = ours(fake)
    assert boxes(issues["section:service:build"]) == {"container": True, "ci-tests": False, "sbom": False}
    assert issues["section:service:operations"]["number"] == ops_number
    assert issues["section:service:operations"]["state"] == "open"
    assert len(ours(fake)) == 3


async def test_invalid_config_fails_a_check_and_one_issue_until_fixed(bot: Bot, fake: FakeGitHub) -> None:
    await onboard(bot, fake)
    epic_body = ours(fake)["epic"]["body"]
    files = base_files(Dockerfile="FROM x\n")
    files[".readiness.yml"] += "on_regresion: keep\n"
    for head, before in ((HEAD2, HEAD1), (HEAD3, HEAD2)):
        fake.push(head, files)
        await deliver(bot, "push", push_payload(head, before))
        await bot.drain()
    issues = ours(fake)
    err = issues["config-error"]
    assert err["state"] == "open" and ".readiness.yml:3:1" in err["body"] and "on_regression" in err["body"]
    assert issues["epic"]["body"] == epic_body
    [run] = fake.check_runs_posted  # one failing check, on the commit that broke it
    assert run["head_sha"] == HEAD2 and run["conclusion"] == "failure"
    assert run["output"]["annotations"][0]["path"] == ".readiness.yml"
    fixed = "c0ffee0000000000000000000000000000000004"
    fake.push(fixed, base_files(Dockerfile="FROM x\n"))
    await deliver(bot, "push", push_payload(fixed, HEAD3))
    await bot.drain()
    assert ours(fake)["config-error"]["state"] == "closed"
    assert fake.check_runs_posted[-1]["conclusion"] == "success"


@pytest.mark.parametrize("big", [".readiness.yml", TEMPLATE_PATH])
async def test_an_oversized_config_or_template_is_refused_by_its_size_without_downloading_it(
    bot: Bot, fake: FakeGitHub, big: str
) -> None:
    """The tree entry's `size` is the real size: the file is never fetched, and the error says
    the size and the limit (a download cut at the limit could not tell 1 MiB from 2 GB)."""
    await onboard(bot, fake)
    files = base_files(Dockerfile="FROM x\n")
    files[big] += "# padding\n" * 200_000  # 2,000,000 bytes more: valid YAML, over the 1 MiB limit
    size = len(files[big].encode())
    fake.push(HEAD2, files)
    before = len(fake.log)
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    err = ours(fake)["config-error"]
    assert err["state"] == "open"
    assert f"{big}: file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes" in err["body"]
    assert [p for _, p, _ in fake.log[before:] if p.endswith(big) or p == "/graphql"] == []
    assert fake.check_runs_posted[-1]["conclusion"] == "failure"


async def test_config_deleted_closes_epic_and_restoring_restores(bot: Bot, fake: FakeGitHub) -> None:
    first = await onboard(bot, fake)
    fake.push(HEAD2, {"README.md": "# widgets\n", "Dockerfile": "FROM x\n"})
    await deliver(bot, "push", push_payload(HEAD2, HEAD1))
    await bot.drain()
    epic = ours(fake)["epic"]
    assert epic["state"] == "closed"
    assert any("removed" in c["body"] for c in fake.comments[epic["number"]])
    fake.push(HEAD3, base_files(Dockerfile="FROM x\n"))
    await deliver(bot, "push", push_payload(HEAD3, HEAD2))
    await bot.drain()
    issues = ours(fake)
    assert issues["epic"]["state"] == "open" and issues["epic"]["number"] == first["epic"]["number"]
    assert boxes(issues["section:service:build"])["container"] is True


async def test_redelivery_and_concurrent_duplicates_make_one_set_of_issues(
    bot: Bot, fake: FakeGitHub
) -> None:
    payload = push_payload(HEAD1)
    same = new_delivery()
    first, again = await asyncio.gather(
        deliver(bot, "push", payload, same), deliver(bot, "push", payload, same)
    )
    assert sorted([first.status_code, again.status_code]) == [200, 202]
    # two different deliveries for the same repository at the same moment
    await asyncio.gather(deliver(bot, "push", payload), deliver(bot, "installation", installation_payload()))
    await bot.drain()
    assert set(ours(fake)) == {"epic", "section:service:build", "section:service:operations"}
    assert (await deliver(bot, "push", payload, same)).status_code == 200  # GitHub's manual redelivery


async def test_failure_between_create_and_record_adopts_instead_of_duplicating(
    bot: Bot, fake: FakeGitHub
) -> None:
    # The second section's create reaches GitHub but the answer is lost (502 after the fact).
    created: list[int] = []
    real = fake.h_create_issue

    def lossy(request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        resp = real(request, owner, repo)
        created.append(resp.status_code)
        return httpx.Response(502, json={"message": "Server Error"}) if len(created) == 2 else resp

    fake.routes = [(m, rx, lossy if h == real else h) for m, rx, h in fake.routes]
    await deliver(bot, "push", push_payload(HEAD1))
    await bot.drain()
    assert len(created) >= 2  # the second create reached the platform and its answer was lost
    # (the retry may already have run: full-jitter backoff can be due at once)
    bot.clock.advance(hours=2)  # the retry becomes due
    await bot.drain()
    issues = ours(fake)  # raises on duplicates
    assert set(issues) == {"epic", "section:service:build", "section:service:operations"}
    assert len(fake.children[issues["epic"]["number"]]) == 2


async def test_the_served_app_wires_the_checklist_work_from_settings(
    settings: Settings, engine: Engine, fake: FakeGitHub
) -> None:
    """`readiness serve` / `readiness worker` build their handler with `make_handler(settings, …)`:
    with GitHub App settings present, a delivery ends in issues, not just a recorded repository."""
    with respx.mock(base_url=fake.host, assert_all_called=False) as router:
        router.route().mock(side_effect=fake)
        async with running_bot(settings, engine, None, Clock()) as bot:
            bot.worker = Worker(engine, make_handler(settings, engine), settings)
            assert (await deliver(bot, "push", push_payload(HEAD1))).status_code == 202
            await bot.drain()
    assert set(ours(fake)) == {"epic", "section:service:build", "section:service:operations"}


async def test_a_push_delivered_late_does_not_roll_the_issues_back(bot: Bot, fake: FakeGitHub) -> None:
    """GitHub does not deliver in order (Faults suite, seed 4): the push to HEAD2 arrives after
    the push to HEAD3 was synced; the issues keep showing HEAD3, the branch head."""
    await onboard(bot, fake)
    fake.push(HEAD2, base_files())  # the Dockerfile is removed...
    late = push_payload(HEAD2, HEAD1)
    fake.push(HEAD3, base_files(Dockerfile="FROM python:3.12\n"))  # ...and comes back
    await deliver(bot, "push", push_payload(HEAD3, HEAD2))
    await bot.drain()
    await deliver(bot, "push", late)
    await bot.drain()
    assert boxes(ours(fake)["section:service:build"])["container"] is True
