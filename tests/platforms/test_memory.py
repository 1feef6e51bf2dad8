"""The in-memory platform: the shared contract plus what tests rely on (call log, failures, seeding)."""

from __future__ import annotations

import pytest

from bot.platforms.base import Invalid, IssueUpdate, Platform, PlatformClient, RateLimited
from bot.platforms.dryrun import DryRunPlatform
from bot.platforms.memory import MAX_CHILDREN, MemoryClient, MemoryPlatform

from .contract import SPEC, PlatformContract, WorldSpec


class MemoryWorld:
    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        p = MemoryPlatform(spec.full_name, bot_login=spec.bot_login, default_branch=spec.default_branch)
        p.set_commit(spec.head, spec.files)
        p.set_ci(spec.head, spec.ci)
        p.labels.update(spec.labels)
        for seed in spec.issues:
            p.add_issue(
                seed.title,
                seed.body,
                author=spec.author(seed),
                state=seed.state,
                labels=seed.labels,
                assignees=seed.assignees,
                number=seed.number,
            )
        for c in spec.comments:
            p.add_comment_as(c.author, c.issue, c.body, comment_id=c.id)
        for login, level in spec.permissions.items():
            p.set_permission(login, level)
        self.platform: MemoryPlatform = p

    def reactions(self) -> list[tuple[int, str]]:
        return [(r.comment_id, r.content) for r in self.platform.reactions]

    def checks(self) -> list[tuple[str, str, str]]:
        return [(c.name, c.commit, c.conclusion) for c in self.platform.checks]


class TestMemoryContract(PlatformContract):
    @pytest.fixture
    def world(self) -> MemoryWorld:
        return MemoryWorld(SPEC)


@pytest.fixture
def platform() -> MemoryPlatform:
    return MemoryWorld(SPEC).platform


def test_implements_the_protocols() -> None:
    assert isinstance(MemoryPlatform(), Platform)
    assert isinstance(MemoryClient(), PlatformClient)


async def test_calls_log_counts_writes_not_seeding(platform: MemoryPlatform) -> None:
    assert platform.calls == []
    epic = await platform.get_issue(1)
    child = await platform.create_issue(title="Section", body="b")
    await platform.link_child(epic, child)
    await platform.update_issue(child.number, IssueUpdate(state="closed"))
    assert [c[0] for c in platform.writes] == ["create_issue", "link_child", "update_issue"]
    assert platform.calls[-1] == ("update_issue", SPEC.full_name, str(child.number), "state")


async def test_human_edit_is_seen_by_the_next_read(platform: MemoryPlatform) -> None:
    before = await platform.get_issue(1)
    platform.edit_issue_as("octocat", 1, before.body + "\n- [x] ticked by hand")
    assert (await platform.get_issue(1)).body.endswith("- [x] ticked by hand")
    assert [c[0] for c in platform.writes] == []


async def test_injected_failure_is_raised_once(platform: MemoryPlatform) -> None:
    platform.fail("create_issue", RateLimited("secondary rate limit", retry_after=60))
    with pytest.raises(RateLimited) as err:
        await platform.create_issue(title="t", body="b")
    assert err.value.retry_after == 60
    assert (await platform.create_issue(title="t", body="b")).title == "t"


async def test_sub_issue_limits(platform: MemoryPlatform) -> None:
    epic = await platform.get_issue(1)
    other = await platform.get_issue(4)
    kids = [platform.add_issue(f"s{i}") for i in range(MAX_CHILDREN + 1)]
    for kid in kids[:MAX_CHILDREN]:
        await platform.link_child(epic, kid)
    with pytest.raises(Invalid, match="100 sub-issues"):
        await platform.link_child(epic, kids[-1])
    with pytest.raises(Invalid, match="already has a parent"):
        await platform.link_child(other, kids[0])


async def test_client_lists_installation_repos_and_shares_the_log() -> None:
    client = MemoryClient()
    a = client.add_repo("octo-org/a", installation_id=7)
    client.add_repo("octo-org/b", installation_id=7)
    client.add_repo("elsewhere/c", installation_id=8)
    a.set_commit("c1", {"README.md": "hi"})
    repos = await client.installation_repos(7)
    assert [r.full_name for r in repos] == ["octo-org/a", "octo-org/b"]
    p = await client.for_repo("octo-org/a", installation_id=7)
    assert await p.file("README.md", "main") == b"hi"
    assert ("file", "octo-org/a", "README.md", "main") in client.calls


async def test_dry_run_reads_the_real_repo_and_changes_nothing(platform: MemoryPlatform) -> None:
    dry = DryRunPlatform(platform)
    assert isinstance(dry, Platform)
    epic = await dry.get_issue(1)
    section = await dry.create_issue(
        title="Section: security", body="<!-- readiness:s1 -->", labels=("readiness",)
    )
    await dry.link_child(epic, section)
    await dry.update_issue(1, IssueUpdate(body=epic.body + "\n- [ ] security"))
    await dry.create_comment(section.number, "Created by readiness-bot")

    assert [c.number for c in await dry.list_children(epic)] == [section.number]
    assert (await dry.get_issue(1)).body.endswith("- [ ] security")
    assert dry.planned == [
        "create issue 'Section: security' with labels readiness",
        "link (new issue 1) under #1",
        "edit #1: body",
        "comment on (new issue 1): Created by readiness-bot",
    ]
    assert platform.writes == []
    assert (await platform.get_issue(1)).body == epic.body
