"""The contract every `Platform` implementation must honour (memory, GitHub, GitLab).

How an implementation plugs in
------------------------------
1. Build a *world* from `SPEC` (or `dataclasses.replace(SPEC, bot_login=...)`): a repository
   `SPEC.full_name` whose default branch `main` points at commit `SPEC.head` containing exactly
   `SPEC.files`, CI results `SPEC.ci` on that commit, the labels `SPEC.labels`, the issues
   `SPEC.issues` (numbers as given; bodies, authors, states as given), the comments
   `SPEC.comments` and the collaborator permissions `SPEC.permissions` (anyone else: none).
   The fake must be *stateful*: what the platform writes, later reads see (an issue created
   through `create_issue` is returned by `get_issue`, `find_issues`, `list_children`, …).
2. Expose it as an object with the `World` shape below (`platform` bound to that repository,
   `spec`, and two observers for write-only calls, reported in contract vocabulary).
3. Subclass `PlatformContract` in your test module (name it `Test…`) and provide a `world`
   fixture returning (or yielding) that object. Every `test_*` method here then runs against it:

       class TestGitLabContract(PlatformContract):
           @pytest.fixture
           def world(self, responses_mock):
               yield GitLabWorld(dataclasses.replace(SPEC, bot_login="readiness-bot"))

Vocabulary: CI conclusions are `bot.core.snapshot` constants; reactions use GitHub's names
(`+1`, `eyes`, `rocket`, …; GitLab adapters translate to award emoji); permission levels are
`admin | maintain | write | triage | read | none`; check conclusions `success | failure | neutral`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol

import pytest

from bot.core.snapshot import FAILURE, PENDING, SKIPPED, SUCCESS, CIResult
from bot.core.yamlload import READ_CAP
from bot.platforms.base import CheckReport, Invalid, IssueUpdate, NotFound, Platform

MARKER = "<!-- readiness:epic checklist=service v=1 -->"


@dataclasses.dataclass(frozen=True)
class SeedIssue:
    number: int
    title: str
    body: str
    author: str  # "<bot>" means the world's bot login
    state: str = "open"
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SeedComment:
    issue: int
    id: int
    author: str
    body: str


@dataclasses.dataclass(frozen=True)
class WorldSpec:
    full_name: str
    bot_login: str
    default_branch: str
    head: str
    files: Mapping[str, bytes]
    ci: tuple[CIResult, ...]
    labels: tuple[str, ...]
    issues: tuple[SeedIssue, ...]
    comments: tuple[SeedComment, ...]
    permissions: Mapping[str, str]

    def author(self, issue: SeedIssue) -> str:
        return self.bot_login if issue.author == "<bot>" else issue.author


SPEC = WorldSpec(
    full_name="octo-org/widgets",
    bot_login="readiness-bot[bot]",
    default_branch="main",
    head="6dcb09b5b57875f334f61aebed695e2e4193db5e",
    files={
        "README.md": b"# Widgets\n\nA service that makes widgets.\n",
        ".readiness.yml": b"checklists:\n  - service\n",
        ".github/workflows/ci.yml": b"on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n",
        "src/widgets/__init__.py": b"",
        "src/widgets/app.py": b"def main() -> None:\n    print('widgets')\n",
        "docs/runbook.md": b"# Runbook\n" + b"Restart the pod.\n" * 400,
        "docs/large.md": b"# Large\n" + b"l" * 1_018_837,  # under 1 MiB, over 1,000,000 bytes
        "docs/huge.md": b"# Huge\n" + b"h" * 1_499_993,
    },
    ci=(
        CIResult("build", SUCCESS, "https://ci.example.test/build/1"),
        CIResult("lint", FAILURE, "https://ci.example.test/lint/1"),
        CIResult("deploy-preview", PENDING, "https://ci.example.test/deploy/1"),
        CIResult("docs", SKIPPED, "https://ci.example.test/docs/1"),
    ),
    labels=("readiness",),
    issues=(
        SeedIssue(1, "Production readiness: service", f"{MARKER}\nEpic body", "<bot>", labels=("readiness",)),
        SeedIssue(2, "Copied checklist", f"{MARKER}\nA person pasted our marker", "octocat"),
        SeedIssue(3, "Old readiness epic", f"{MARKER}\nclosed one", "<bot>", state="closed"),
        SeedIssue(4, "Bug: widgets are square", "They should be round.", "hubot", assignees=("octocat",)),
    ),
    comments=(SeedComment(4, 9001, "octocat", "/readiness refresh"),),
    permissions={"octocat": "admin", "hubot": "write", "guest": "read"},
)


class World(Protocol):
    platform: Platform
    spec: WorldSpec

    def reactions(self) -> list[tuple[int, str]]:
        """(comment id, reaction) for every reaction the bot added, oldest first."""
        ...

    def checks(self) -> list[tuple[str, str, str]]:
        """(name, commit, conclusion) for every check report the bot published, oldest first."""
        ...


class PlatformContract:
    """Behaviour every adapter must show. Subclasses provide the `world` fixture."""

    @pytest.fixture
    def world(self) -> World:  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------------ repository contents

    async def test_default_branch_and_head(self, world: World) -> None:
        branch = await world.platform.default_branch()
        assert (branch.name, branch.commit) == ("main", world.spec.head)

    async def test_tree_lists_every_file(self, world: World) -> None:
        tree = await world.platform.tree(world.spec.head)
        assert tree.complete
        assert tree.commit == world.spec.head
        assert list(tree.paths) == sorted(world.spec.files)

    async def test_tree_of_unknown_commit_is_not_found(self, world: World) -> None:
        with pytest.raises(NotFound):
            await world.platform.tree("0" * 40)

    async def test_file_content_and_missing_file(self, world: World) -> None:
        p = world.platform
        assert await p.file(".readiness.yml", world.spec.head) == world.spec.files[".readiness.yml"]
        assert await p.file("src/widgets/__init__.py", world.spec.head) == b""
        assert await p.file("does/not/exist.txt", world.spec.head) is None

    async def test_file_is_capped(self, world: World) -> None:
        content = await world.platform.file("docs/runbook.md", world.spec.head, max_bytes=100)
        assert content == world.spec.files["docs/runbook.md"][:100]

    async def test_default_read_is_the_one_size_limit_plus_one_byte(self, world: World) -> None:
        """A 1,018,845-byte template was cut at 1,000,000 bytes and tracked in part; a bigger file
        comes back one byte over the limit, so the loaders refuse it instead of parsing a part."""
        p, head = world.platform, world.spec.head
        assert await p.file("docs/large.md", head) == world.spec.files["docs/large.md"]
        assert await p.file("docs/huge.md", head) == world.spec.files["docs/huge.md"][:READ_CAP]
        got = await p.files(["docs/large.md", "docs/huge.md"], head)
        assert got == {path: await p.file(path, head) for path in got}

    async def test_files_reads_several_as_file_reads_each(self, world: World) -> None:
        p, head = world.platform, world.spec.head
        paths = [".readiness.yml", "src/widgets/__init__.py", "does/not/exist.txt", "docs/runbook.md"]
        got = await p.files(paths, head, max_bytes=100)
        assert set(got) <= set(paths)  # best effort: what could not be batched is left to `file`
        assert got == {path: await p.file(path, head, max_bytes=100) for path in got}
        assert await p.files([], head) == {}

    async def test_ci_results_are_normalised(self, world: World) -> None:
        results = await world.platform.ci_results(world.spec.head)
        assert sorted((r.name, r.conclusion) for r in results) == sorted(
            (r.name, r.conclusion) for r in world.spec.ci
        )
        assert all(r.url for r in results)
        assert all(r.commit in (None, world.spec.head) for r in results)

    # ------------------------------------------------------------------------------ issues

    async def test_get_existing_issue(self, world: World) -> None:
        issue = await world.platform.get_issue(4)
        seed = world.spec.issues[3]
        assert (issue.number, issue.title, issue.body, issue.state) == (4, seed.title, seed.body, "open")
        assert issue.author == "hubot"
        assert issue.assignees == ("octocat",)
        assert issue.id != issue.number
        assert issue.url

    async def test_create_get_update_issue(self, world: World) -> None:
        p = world.platform
        created = await p.create_issue(
            title="Readiness: observability", body=f"{MARKER}\n- [ ] logs", labels=("readiness",)
        )
        assert created.state == "open"
        assert created.labels == ("readiness",)
        assert created.author == p.bot_login
        assert created.number not in {i.number for i in world.spec.issues}
        fetched = await p.get_issue(created.number)
        assert (fetched.id, fetched.title, fetched.body) == (created.id, created.title, created.body)

        updated = await p.update_issue(
            created.number, IssueUpdate(body=f"{MARKER}\n- [x] logs", assignees=("octocat",))
        )
        assert updated.body.endswith("- [x] logs")
        assert updated.title == "Readiness: observability"  # untouched fields stay
        assert updated.assignees == ("octocat",)
        closed = await p.update_issue(created.number, IssueUpdate(state="closed", labels=()))
        assert (closed.state, closed.labels) == ("closed", ())
        again = await p.get_issue(created.number)
        assert (again.state, again.body, again.title) == ("closed", updated.body, created.title)

    async def test_reopen_issue(self, world: World) -> None:
        reopened = await world.platform.update_issue(3, IssueUpdate(state="open"))
        assert reopened.state == "open"
        assert (await world.platform.get_issue(3)).state == "open"

    async def test_missing_issue_is_not_found(self, world: World) -> None:
        with pytest.raises(NotFound):
            await world.platform.get_issue(9999)
        with pytest.raises(NotFound):
            await world.platform.update_issue(9999, IssueUpdate(body="x"))

    async def test_find_issues_returns_only_the_bots_own_open_and_closed(self, world: World) -> None:
        found = await world.platform.find_issues(MARKER)
        assert sorted(i.number for i in found) == [1, 3]
        new = await world.platform.create_issue(title="Section", body=f"x {MARKER} y")
        assert sorted(i.number for i in await world.platform.find_issues(MARKER)) == [1, 3, new.number]
        assert await world.platform.find_issues("<!-- readiness:nothing-like-this -->") == []

    async def test_ensure_labels_then_use_them(self, world: World) -> None:
        p = world.platform
        await p.ensure_labels(("readiness", "readiness:security"))
        await p.ensure_labels(("readiness", "readiness:security"))  # idempotent
        issue = await p.create_issue(title="Security", body="b", labels=("readiness:security",))
        assert issue.labels == ("readiness:security",)

    # -------------------------------------------------------------------------- sub-issues

    async def test_link_list_unlink_children(self, world: World) -> None:
        p = world.platform
        epic = await p.get_issue(1)
        a = await p.create_issue(title="Section A", body="a")
        b = await p.create_issue(title="Section B", body="b")
        assert await p.list_children(epic) == []
        await p.link_child(epic, a)
        await p.link_child(epic, b)
        await p.link_child(epic, a)  # linking again is harmless (crash recovery re-links)
        children = await p.list_children(epic)
        assert [c.number for c in children] == [a.number, b.number]
        assert [c.id for c in children] == [a.id, b.id]
        await p.unlink_child(epic, a)
        assert [c.number for c in await p.list_children(epic)] == [b.number]

    async def test_children_created_as_children_work_like_any_issue(self, world: World) -> None:
        p = world.platform
        epic = await p.get_issue(1)
        a = await p.create_issue(title="Section A", body="- [ ] a", labels=("readiness",), child=True)
        await p.link_child(epic, a)
        assert [c.number for c in await p.list_children(epic)] == [a.number]
        edited = await p.update_issue(a.number, IssueUpdate(body="- [x] a", state="closed"))
        assert (edited.body, edited.state, edited.labels) == ("- [x] a", "closed", ("readiness",))
        assert (await p.get_issue(a.number)).title == "Section A"

    # ---------------------------------------------------------------------------- comments

    async def test_comments_create_update_list(self, world: World) -> None:
        p = world.platform
        existing = await p.list_comments(4)
        assert [(c.id, c.author, c.body) for c in existing] == [(9001, "octocat", "/readiness refresh")]
        mine = await p.create_comment(4, "Refreshed: 3 items changed.")
        assert mine.author == p.bot_login
        edited = await p.update_comment(4, mine.id, "Refreshed: 4 items changed.")
        assert (edited.id, edited.body) == (mine.id, "Refreshed: 4 items changed.")
        bodies = [c.body for c in await p.list_comments(4)]
        assert bodies == ["/readiness refresh", "Refreshed: 4 items changed."]

    async def test_comment_on_missing_issue_is_not_found(self, world: World) -> None:
        with pytest.raises(NotFound):
            await world.platform.create_comment(9999, "hello")

    async def test_reaction(self, world: World) -> None:
        await world.platform.add_reaction(4, 9001, "eyes")
        assert world.reactions() == [(9001, "eyes")]

    # ------------------------------------------------------------------- permission, checks

    async def test_permission_levels(self, world: World) -> None:
        p = world.platform
        assert await p.permission("octocat") == "admin"
        assert await p.permission("hubot") == "write"
        assert await p.permission("guest") == "read"
        assert await p.permission("stranger") == "none"

    async def test_report_check(self, world: World) -> None:
        report = CheckReport(
            name="readiness/config",
            commit=world.spec.head,
            conclusion="failure",
            title=".readiness.yml is invalid",
            summary="line 2: unknown checklist 'servic'",
        )
        await world.platform.report_check(report)
        await world.platform.report_check(dataclasses.replace(report, conclusion="success", title="ok"))
        assert world.checks() == [
            ("readiness/config", world.spec.head, "failure"),
            ("readiness/config", world.spec.head, "success"),
        ]

    async def test_empty_title_is_invalid(self, world: World) -> None:
        with pytest.raises(Invalid):
            await world.platform.create_issue(title="", body="x")
