"""`Platform` for one GitLab project over python-gitlab (see `bot.platforms.gitlab` for the client).

Every blocking call runs in a worker thread through `client.run`; errors arrive already mapped to
`bot.platforms.base` types by `http.RetryingGitlab`. Issue `number` = iid, `id` = the global id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import requests
import structlog
from gitlab.utils import EncodedId

from bot.core.snapshot import CIResult
from bot.core.yamlload import READ_CAP
from bot.platforms.base import (
    Branch,
    CheckReport,
    Comment,
    Forbidden,
    Invalid,
    Issue,
    IssueUpdate,
    NotFound,
    PlatformError,
    RateLimited,
    Revalidated,
    Transient,
    Tree,
    revalidate_by_head,
)
from bot.platforms.fresh import FreshParents
from bot.platforms.gitlab import convert
from bot.platforms.gitlab.children import ChildLinks
from bot.platforms.gitlab.connection import GitLabConnection
from bot.platforms.gitlab.http import PER_PAGE, Conflict

T = TypeVar("T")


FILES_PER_QUERY = 50
BLOBS_QUERY = """
query repositoryBlobs($project: ID!, $ref: String!, $paths: [String!]!) {
  project(fullPath: $project) {
    repository {
      blobs(ref: $ref, paths: $paths) {
        nodes { path rawTextBlob }
      }
    }
  }
}
"""
log = structlog.get_logger(__name__)


class GitLabRepo(ChildLinks):
    """`Platform` for one GitLab project. Issue `number` = iid, `id` = the global issue id."""

    name = "gitlab"

    def __init__(self, client: GitLabConnection, full_name: str, *, bot_id: int, bot_login: str) -> None:
        self.client = client
        self.full_name = full_name
        self.bot_id = bot_id
        self.bot_login = bot_login
        self._gl = client.gl
        self._project = client.gl.projects.get(full_name, lazy=True)  # no request
        self._project_id: int | None = None  # numeric id, learned from any issue or project response
        self._fresh = FreshParents()
        self._labels: set[str] = set()  # labels known to exist, per repository view

    # ------------------------------------------------------------------ repository contents

    async def default_branch(self) -> Branch:
        def fetch() -> Branch:
            project = self._gl.projects.get(self.full_name)
            self._project_id = project.id
            name = project.attributes.get("default_branch")
            if not name:
                raise NotFound(f"{self.full_name}: the repository is empty (no default branch)")
            branch = self._project.branches.get(name)
            return Branch(name=name, commit=branch.commit["id"])

        return await self.client.run(fetch)

    async def tree(self, commit: str) -> Tree:
        def fetch() -> Tree:
            entries = self._project.repository_tree(
                recursive=True, ref=commit, per_page=PER_PAGE, pagination="keyset", iterator=True
            )
            blobs = {e["path"]: e["id"] for e in entries if e["type"] == "blob"}
            return Tree(commit=commit, paths=tuple(sorted(blobs)), blobs=blobs)

        return await self.client.run(fetch)

    async def default_branch_file(self, path: str, *, etag: str | None = None) -> Revalidated:
        return await revalidate_by_head(self, path, etag)

    async def file(self, path: str, commit: str, *, max_bytes: int = READ_CAP) -> bytes | None:
        return await self.client.run(lambda: self._read_capped(path, commit, max_bytes))

    async def files(
        self, paths: Sequence[str], commit: str, *, max_bytes: int = READ_CAP
    ) -> dict[str, bytes | None]:
        """FILES_PER_QUERY files per GraphQL `repository.blobs` query (REST has no batch read).
        Binary files are left out, as is everything on a GitLab that refuses the query (asked
        once per client): the caller reads those through REST if needed."""

        def fetch() -> dict[str, bytes | None]:
            out: dict[str, bytes | None] = {}
            for start in range(0, len(paths), FILES_PER_QUERY):
                if not self.client.blob_queries:
                    break
                batch = list(paths[start : start + FILES_PER_QUERY])
                try:
                    found = self._blobs(batch, commit)
                except PlatformError as exc:
                    log.info("gitlab.graphql_read_failed", files=len(batch), error=str(exc))
                    if isinstance(exc, Invalid | NotFound):  # this GitLab has no such query
                        self.client.blob_queries = False
                    break
                out.update({p: None if c is None else c[:max_bytes] for p, c in found.items()})
            return out

        return await self.client.run(fetch)

    def _blobs(self, paths: list[str], commit: str) -> dict[str, bytes | None]:
        """What one query tells exactly: text files' bytes, None for paths with no blob."""
        data = self.client.graphql.execute(
            "repositoryBlobs", BLOBS_QUERY, {"project": self.full_name, "ref": commit, "paths": paths}
        )
        repository = (data.get("project") or {}).get("repository")
        if repository is None:
            raise NotFound(f"GraphQL repositoryBlobs: {self.full_name} not visible")
        nodes = ((repository.get("blobs") or {}).get("nodes")) or []
        found: dict[str, bytes | None] = dict.fromkeys(paths)  # absent from the answer: no such file
        for node in nodes:
            if node.get("path") in found:
                text = node.get("rawTextBlob")
                if isinstance(text, str):
                    found[node["path"]] = text.encode("utf-8")
                else:
                    del found[node["path"]]  # binary: REST reads the bytes
        return found

    def _read_capped(self, path: str, commit: str, max_bytes: int) -> bytes | None:
        """Streams the raw file and stops at `max_bytes`: a 200 MB file costs one capped read."""
        url = f"/projects/{EncodedId(self.full_name)}/repository/files/{EncodedId(path)}/raw"
        try:
            response = self._gl.http_get(url, query_data={"ref": commit}, streamed=True, raw=True)
        except NotFound:
            return None
        assert isinstance(response, requests.Response)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size >= max_bytes:
                    break
        except requests.RequestException as exc:
            raise Transient(f"GET {self.full_name}:{path}: {type(exc).__name__} while reading") from None
        finally:
            response.close()
        return b"".join(chunks)[:max_bytes]

    async def ci_results(self, commit: str) -> list[CIResult]:
        def fetch() -> list[CIResult]:
            # One call: in GitLab every CI job is a commit status too, and the statuses endpoint
            # gives the latest per name (a retried job or a newer pipeline's wins), external
            # statuses included. Reading pipelines and their jobs as well cost two more calls
            # per sync and told nothing new.
            statuses = self._project.commits.get(commit, lazy=True).statuses.list(
                per_page=PER_PAGE, iterator=True
            )
            return convert.ci_results(commit, [], [s.attributes for s in statuses], self.bot_login)

        return await self.client.run(fetch)

    # ------------------------------------------------------------------------------ issues

    async def create_issue(
        self,
        *,
        title: str,
        body: str,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        child: bool = False,
    ) -> Issue:
        hierarchy = self.client.hierarchy
        as_task = child and hierarchy.linking and hierarchy.create_tasks

        def create(issue_type: str | None) -> Issue:
            data: dict[str, Any] = {"title": title, "description": body, "labels": list(labels)}
            if assignees:
                data["assignee_ids"] = self._user_ids(assignees)
            if issue_type:
                data["issue_type"] = issue_type
            issue = self._issue(self._project.issues.create(data).attributes)
            self._fresh.created(issue)
            return issue

        if as_task:  # a section: a task from the start saves converting it when it is linked
            try:
                issue = await self._write(lambda: create("task"))
            except Invalid as exc:  # a GitLab whose REST API does not create tasks: convert instead
                log.info("gitlab.create_task_refused", error=str(exc))
                hierarchy.create_tasks = False
            else:
                if await self._rest_serves(issue):
                    hierarchy.created_tasks.add(issue.id)
                return issue
        return await self._write(lambda: create(None))

    async def _rest_serves(self, task: Issue) -> bool:
        """Before GitLab 16.3 the REST issues API hid tasks (404), so every later edit of a task
        section would fail: checked once per client, on its first task. If hidden, the task is
        made an issue again and sections are linked with `relates_to` from then on."""
        hierarchy = self.client.hierarchy
        if hierarchy.rest_checked:
            return True
        try:
            await self.client.run(lambda: self._project.issues.get(task.number))
        except NotFound:
            _, issue_type = await self.client.run(lambda: hierarchy.types(self.full_name))
            await self._convert_back(task, issue_type)
            hierarchy.give_up("the REST issues API does not serve tasks on this GitLab")
            return False
        hierarchy.rest_checked = True
        return True

    async def get_issue(self, number: int) -> Issue:
        return await self.client.run(lambda: self._issue(self._project.issues.get(number).attributes))

    async def update_issue(self, number: int, update: IssueUpdate) -> Issue:
        def put() -> Issue:
            data: dict[str, Any] = {}
            if update.title is not None:
                data["title"] = update.title
            if update.body is not None:
                data["description"] = update.body
            if update.state is not None:
                if update.state not in ("open", "closed"):
                    raise Invalid(f"state must be 'open' or 'closed', not {update.state!r}")
                data["state_event"] = "close" if update.state == "closed" else "reopen"
            if update.labels is not None:
                data["labels"] = ",".join(update.labels)  # "" removes every label
            if update.assignees is not None:
                data["assignee_ids"] = self._user_ids(update.assignees) or [0]  # 0 unassigns all
            if not data:
                return self._issue(self._project.issues.get(number).attributes)
            return self._issue(self._project.issues.update(number, data))

        return await self._write(put)

    async def find_issues(self, marker: str) -> list[Issue]:
        def fetch() -> list[Issue]:
            found = self._project.issues.list(
                author_id=self.bot_id, scope="all", state="all", order_by="created_at", sort="asc",
                per_page=PER_PAGE, iterator=True,
            )  # fmt: skip
            return [
                self._issue(i.attributes) for i in found if marker in (i.attributes.get("description") or "")
            ]

        return await self.client.run(fetch)

    async def ensure_labels(self, labels: tuple[str, ...]) -> None:
        """Create each label not yet seen through this repository view: GitLab answers 409 for
        one that exists, so creating is the check too (one call a label, no listing first)."""
        for name in dict.fromkeys(labels):
            if name in self._labels:
                continue
            data = {"name": name, "color": convert.label_colour(name)}
            with contextlib.suppress(Conflict):  # exists already (earlier sync, another worker, a person)
                await self._write(partial(self._project.labels.create, data))
            self._labels.add(name)

    # ---------------------------------------------------------------------------- comments

    async def create_comment(self, number: int, body: str) -> Comment:
        return await self._write(
            lambda: self._comment(number, self._notes(number).create({"body": body}).attributes)
        )

    async def update_comment(self, number: int, comment_id: int, body: str) -> Comment:
        return await self._write(
            lambda: self._comment(number, self._notes(number).update(comment_id, {"body": body}))
        )

    async def list_comments(self, number: int) -> list[Comment]:
        def fetch() -> list[Comment]:
            notes = self._notes(number).list(
                sort="asc", order_by="created_at", per_page=PER_PAGE, iterator=True
            )
            # System notes ("changed the description", "closed") are GitLab's log, not comments.
            return [self._comment(number, n.attributes) for n in notes if not n.attributes.get("system")]

        return await self.client.run(fetch)

    async def add_reaction(self, number: int, comment_id: int, reaction: str) -> None:
        emoji = convert.REACTIONS.get(reaction, reaction)

        def award() -> None:
            note = self._notes(number).get(comment_id, lazy=True)
            try:
                note.awardemojis.create({"name": emoji})
            except Invalid as exc:
                if "taken" not in str(exc) and not isinstance(exc, Conflict):
                    raise  # "has already been taken" means we reacted before: fine

        await self._write(award)

    # ------------------------------------------------------------------- permission, checks

    async def permission(self, login: str) -> str:
        def fetch() -> str:
            user_id = self.client.user_id(login)
            if user_id is None:
                return "none"
            try:
                member = self._project.members_all.get(user_id)
            except NotFound:
                return "none"
            return convert.permission(member.attributes.get("access_level"))

        return await self.client.run(fetch)

    async def is_team(self, name: str) -> bool:
        """A bare name is a user or a top-level group: GitLab is asked (cached per process)."""
        return "/" in name or await self.client.run(lambda: self.client.groups.is_group(name))

    async def team_members(self, team: str) -> tuple[str, ...]:
        """Direct and inherited members of a group, by username (GitLab assigns users only)."""

        def fetch() -> tuple[str, ...]:
            try:
                group = self._gl.groups.get(team, lazy=True)
                members = group.members_all.list(iterator=True, per_page=PER_PAGE)
                return tuple(m.attributes["username"] for m in members)
            except (NotFound, Forbidden) as exc:
                log.warning("gitlab.group_unreadable", group=team, error=str(exc))
                return ()

        return await self.client.run(fetch)

    async def report_check(self, report: CheckReport) -> None:
        state = convert.CHECK_STATES.get(report.conclusion)
        if state is None:
            raise Invalid(f"check conclusion must be success, failure or neutral, not {report.conclusion!r}")
        data = {"state": state, "name": report.name, "description": convert.trim(report.title)}
        await self._write(lambda: self._project.commits.get(report.commit, lazy=True).statuses.create(data))

    # ----------------------------------------------------------------------------- helpers

    async def _write(self, fn: Callable[[], T]) -> T:
        """Writes take a pacing slot first; a rate limit GitLab reports holds every later write."""
        await self.client.pacer.acquire()
        try:
            return await self.client.run(fn)
        except RateLimited as exc:
            await self.client.pacer.pause(exc.retry_after)
            raise

    def _issue(self, data: dict[str, Any]) -> Issue:
        if self._project_id is None and data.get("project_id"):
            self._project_id = int(data["project_id"])
        return convert.issue(data)

    def _numeric_project_id(self) -> int:
        """Issue links need the numeric target project id (GitLab rejected paths there)."""
        if self._project_id is None:
            self._project_id = int(self._gl.projects.get(self.full_name).id)
        return self._project_id

    def _notes(self, number: int) -> Any:
        return self._project.issues.get(number, lazy=True).notes

    def _comment(self, number: int, data: dict[str, Any]) -> Comment:
        url = f"{self.client.url}/{self.full_name}/-/issues/{number}#note_{data['id']}"
        return Comment(
            id=int(data["id"]),
            body=data.get("body") or "",
            author=(data.get("author") or {}).get("username"),
            url=url,
        )

    def _user_ids(self, logins: tuple[str, ...]) -> list[int]:
        ids = []
        for login in logins:
            user_id = self.client.user_id(login)
            if user_id is None:
                raise Invalid(f"{self.full_name}: no GitLab user {login!r} to assign")
            ids.append(user_id)
        return ids
