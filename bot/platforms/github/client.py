"""The GitHub App adapter: `GitHubClient` (one per process) and `GitHubRepo` (one repository).

HTTP details (auth, API version, retries, pacing, metrics) live in `api.py`; this module
maps the `Platform` operations onto REST endpoints and normalises what comes back.

Choices worth knowing:
- find_issues lists `GET /repos/{o}/{r}/issues?creator=<bot>&state=all` and filters bodies by
  marker. The search API would be one call but is eventually consistent (an issue created seconds
  ago may be missing, which is exactly when a crashed sync must adopt it instead of duplicating
  it) and has its own 30-per-minute limit.
- ci_results reads check runs (`filter=latest`, paginated) and the combined commit status of the
  commit: two calls. Actions workflow jobs already appear as check runs, so the Actions API is not
  read again (no double counting). Our own check runs are left out.
- tree reads one recursive tree; when GitHub truncates it, each subtree is read recursively in
  turn (and walked one level at a time only where that is truncated too), so the list is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import structlog
from sqlalchemy import Engine

from bot.config import Settings
from bot.core.snapshot import PENDING, CIResult
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
    RepoInfo,
    Revalidated,
    Tree,
)
from bot.platforms.fresh import FreshParents
from bot.platforms.github import convert
from bot.platforms.github.api import GitHubApi
from bot.platforms.github.settings import GitHubSettings
from bot.platforms.http import RetryPolicy, Sleep

LEVELS = ("admin", "maintain", "write", "triage", "read", "none")
FILES_PER_QUERY = 50  # blobs per GraphQL query: well inside its node limit and response size
log = structlog.get_logger(__name__)
MAX_ANNOTATIONS = 50  # per check-run request


class GitHubClient:
    """Builds `GitHubRepo`s; holds the App credentials, installation tokens and write pacers."""

    name = "github"

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        http_cache: bool = True,
        policy: RetryPolicy | None = None,
        pacing: Engine | None = None,
    ) -> None:
        self.api = GitHubApi(
            settings,
            clock=clock,
            sleep=sleep,
            transport=transport,
            http_cache=http_cache,
            policy=policy,
            pacing=pacing,
        )
        self._bot_login = settings.platform(GitHubSettings).github_bot_login

    async def bot_login(self) -> str:
        """Our login (`<app slug>[bot]`), from settings or learned once from `GET /app`."""
        if self._bot_login is None:
            app = (await self.api.request("GET", "/app", installation_id=None)).json()
            self._bot_login = f"{app['slug']}[bot]"
        return self._bot_login

    async def for_repo(self, full_name: str, *, installation_id: int | None = None) -> GitHubRepo:
        if installation_id is None:
            owner, repo = full_name.split("/", 1)
            found = await self.api.request(
                "GET", "/repos/{owner}/{repo}/installation", installation_id=None, owner=owner, repo=repo
            )
            installation_id = int(found.json()["id"])
        return GitHubRepo(self.api, full_name, installation_id, await self.bot_login())

    async def installation_repos(self, installation_id: int | None = None) -> list[RepoInfo]:
        if installation_id is None:
            raise ValueError("GitHub lists repositories per installation: pass installation_id")
        return [
            RepoInfo(r["full_name"], int(r["id"]), r.get("default_branch") or "main", bool(r.get("archived")))
            async for r in self.api.paginate(
                "/installation/repositories", installation_id=installation_id, key="repositories"
            )
        ]

    async def aclose(self) -> None:
        await self.api.aclose()


class GitHubRepo:
    """`Platform` for one repository through one installation."""

    name = "github"

    def __init__(self, api: GitHubApi, full_name: str, installation_id: int, bot_login: str) -> None:
        self.api = api
        self.full_name = full_name
        self.installation_id = installation_id
        self.bot_login = bot_login
        self.owner, self.repo = full_name.split("/", 1)
        self._labels: set[str] | None = None
        self._fresh = FreshParents()

    async def _call(self, method: str, template: str, **kwargs: Any) -> httpx.Response:
        return await self.api.request(
            method,
            "/repos/{owner}/{repo}" + template,
            installation_id=self.installation_id,
            owner=self.owner,
            repo=self.repo,
            **kwargs,
        )

    def _pages(
        self, template: str, *, key: str | None = None, params: dict[str, Any] | None = None, **path: Any
    ) -> AsyncIterator[dict[str, Any]]:
        return self.api.paginate(
            "/repos/{owner}/{repo}" + template,
            installation_id=self.installation_id,
            key=key,
            params=params,
            owner=self.owner,
            repo=self.repo,
            **path,
        )

    # ---------------------------------------------------------------------- repository contents

    async def default_branch(self) -> Branch:
        name = (await self._call("GET", "")).json()["default_branch"]
        branch = (await self._call("GET", "/branches/{branch}", branch=name)).json()
        return Branch(name, branch["commit"]["sha"])

    async def tree(self, commit: str) -> Tree:
        blobs: dict[str, str] = {}
        sizes: dict[str, int] = {}
        complete = await self._walk(commit, "", blobs, sizes)
        return Tree(commit=commit, paths=tuple(sorted(blobs)), complete=complete, blobs=blobs, sizes=sizes)

    async def _walk(self, sha: str, prefix: str, blobs: dict[str, str], sizes: dict[str, int]) -> bool:
        """Adds path -> blob sha (and size) under one tree; a truncated recursive listing is walked
        level by level. True when everything was listed."""

        def add(entries: list[dict[str, Any]]) -> None:
            for e in entries:
                if e["type"] == "blob":
                    blobs[prefix + e["path"]] = e["sha"]
                    if isinstance(e.get("size"), int):
                        sizes[prefix + e["path"]] = e["size"]

        data = (await self._call("GET", "/git/trees/{sha}", sha=sha, params={"recursive": "1"})).json()
        if not data.get("truncated"):
            add(data["tree"])
            return True
        level = (await self._call("GET", "/git/trees/{sha}", sha=sha)).json()
        add(level["tree"])
        complete = not level.get("truncated")
        for entry in level["tree"]:
            if entry["type"] == "tree":
                sub_complete = await self._walk(entry["sha"], f"{prefix}{entry['path']}/", blobs, sizes)
                complete = complete and sub_complete
        return complete

    async def file(self, path: str, commit: str, *, max_bytes: int = READ_CAP) -> bytes | None:
        try:
            response = await self._call(
                "GET",
                "/contents/{path}",
                path=path,
                params={"ref": commit},
                accept="application/vnd.github.raw+json",
            )
        except NotFound:
            return None
        return response.content[:max_bytes]

    async def default_branch_file(self, path: str, *, etag: str | None = None) -> Revalidated:
        """One conditional GET of the contents without a ref (the default branch): a `304` when
        `etag` still holds costs nothing against the rate limit, unlike the repository, branch
        and file reads it replaces."""
        try:
            response = await self._call(
                "GET",
                "/contents/{path}",
                path=path,
                accept="application/vnd.github.raw+json",
                if_none_match=etag,
            )
        except NotFound:  # no such file, or no such repository (most organisations' .github)
            return Revalidated()
        # githubkit's own cache (production) answers a revalidated 304 with the stored 200
        if response.status_code == 304 or (etag and response.headers.get("etag") == etag):
            return Revalidated(unchanged=True, etag=etag)
        return Revalidated(data=response.content[:READ_CAP], etag=response.headers.get("etag"))

    async def files(
        self, paths: Sequence[str], commit: str, *, max_bytes: int = READ_CAP
    ) -> dict[str, bytes | None]:
        """Up to FILES_PER_QUERY files per GraphQL query (against GraphQL's own rate limit, one
        point a query). Files a query cannot give exactly (binary, truncated, an error) are left
        out, as are all when GraphQL refuses: the caller reads those through REST if needed."""
        out: dict[str, bytes | None] = {}
        for start in range(0, len(paths), FILES_PER_QUERY):
            batch = list(paths[start : start + FILES_PER_QUERY])
            try:
                found = await self._blobs(batch, commit)
            except PlatformError as exc:  # GraphQL refused (rate limit, outage): REST still works
                log.info("github.graphql_read_failed", files=len(batch), error=str(exc))
                return out
            out.update({p: None if c is None else c[:max_bytes] for p, c in found.items()})
        return out

    async def _blobs(self, paths: list[str], commit: str) -> dict[str, bytes | None]:
        """What one GraphQL query tells exactly: text files' bytes, None for missing files."""
        variables: dict[str, str] = {"owner": self.owner, "name": self.repo}
        variables.update({f"e{i}": f"{commit}:{path}" for i, path in enumerate(paths)})
        response = await self.api.request(
            "POST",
            "/graphql",
            url=self.api.graphql_url,
            installation_id=self.installation_id,
            json={"query": convert.blob_query(len(paths)), "variables": variables},
            idempotent=True,  # a query: retrying it cannot duplicate anything
            write=False,
        )
        return convert.blob_texts(response.json(), paths)

    async def ci_results(self, commit: str) -> list[CIResult]:
        app_slug = self.bot_login.removesuffix("[bot]")
        results = [
            CIResult(
                run["name"],
                convert.check_conclusion(run),
                run.get("html_url") or run.get("details_url"),
                commit,
            )
            async for run in self._pages(
                "/commits/{ref}/check-runs", key="check_runs", params={"filter": "latest"}, ref=commit
            )
            if (run.get("app") or {}).get("slug") != app_slug
        ]
        results += [
            CIResult(
                s["context"], convert.STATUS_STATES.get(s["state"], PENDING), s.get("target_url"), commit
            )
            async for s in self._pages("/commits/{ref}/status", key="statuses", ref=commit)
        ]
        return results

    # --------------------------------------------------------------------------------- issues

    async def create_issue(
        self,
        *,
        title: str,
        body: str,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        child: bool = False,
    ) -> Issue:
        payload = {"title": title, "body": body, "labels": list(labels), "assignees": list(assignees)}
        issue = convert.issue((await self._call("POST", "/issues", json=payload)).json())
        self._fresh.created(issue)
        return issue

    async def get_issue(self, number: int) -> Issue:
        data = (await self._call("GET", "/issues/{number}", number=number)).json()
        if "pull_request" in data:
            raise NotFound(f"{self.full_name}#{number} is a pull request, not an issue")
        return convert.issue(data)

    async def update_issue(self, number: int, update: IssueUpdate) -> Issue:
        payload: dict[str, Any] = {}
        for field in ("title", "body", "state"):
            if (value := getattr(update, field)) is not None:
                payload[field] = value
        if update.labels is not None:
            payload["labels"] = list(update.labels)
        if update.assignees is not None:
            payload["assignees"] = list(update.assignees)
        return convert.issue(
            (await self._call("PATCH", "/issues/{number}", number=number, json=payload)).json()
        )

    async def find_issues(self, marker: str) -> list[Issue]:
        found = [
            convert.issue(item)
            async for item in self._pages(
                "/issues",
                params={"state": "all", "creator": self.bot_login, "sort": "created", "direction": "asc"},
            )
            if "pull_request" not in item
            and (item.get("user") or {}).get("login") == self.bot_login
            and marker in (item.get("body") or "")
        ]
        return sorted(found, key=lambda i: i.number)

    async def ensure_labels(self, labels: tuple[str, ...]) -> None:
        if self._labels is None:
            self._labels = {label["name"] async for label in self._pages("/labels")}
        for name in labels:
            if name in self._labels:
                continue
            with contextlib.suppress(Invalid):  # 422 already_exists: created meanwhile, as wanted
                await self._call(
                    "POST",
                    "/labels",
                    json={"name": name, "color": convert.label_colour(name)},
                    idempotent=True,
                )
            self._labels.add(name)

    # ----------------------------------------------------------------------------- sub-issues

    async def link_child(self, parent: Issue, child: Issue) -> None:
        try:
            await self._call(
                "POST",
                "/issues/{number}/sub_issues",
                number=parent.number,
                json={"sub_issue_id": child.id},
                idempotent=True,  # a repeat is a 422 that the check below resolves
            )
        except Invalid:
            # Already our sub-issue (a retried sync)? Then this is done; otherwise it is a real error.
            if not any(c.id == child.id for c in await self.list_children(parent)):
                raise
        self._fresh.linked(parent, child)

    async def unlink_child(self, parent: Issue, child: Issue) -> None:
        await self._call(
            "DELETE", "/issues/{number}/sub_issue", number=parent.number, json={"sub_issue_id": child.id}
        )
        self._fresh.unlinked(parent, child)

    async def list_children(self, parent: Issue) -> list[Issue]:
        if (known := self._fresh.children(parent)) is not None:
            return known
        return [
            convert.issue(i) async for i in self._pages("/issues/{number}/sub_issues", number=parent.number)
        ]

    # ------------------------------------------------------------------------------- comments

    async def create_comment(self, number: int, body: str) -> Comment:
        data = (
            await self._call("POST", "/issues/{number}/comments", number=number, json={"body": body})
        ).json()
        return convert.comment(data)

    async def update_comment(self, number: int, comment_id: int, body: str) -> Comment:
        data = (await self._call("PATCH", "/issues/comments/{id}", id=comment_id, json={"body": body})).json()
        return convert.comment(data)

    async def list_comments(self, number: int) -> list[Comment]:
        return [convert.comment(c) async for c in self._pages("/issues/{number}/comments", number=number)]

    async def add_reaction(self, number: int, comment_id: int, reaction: str) -> None:
        await self._call(
            "POST",
            "/issues/comments/{id}/reactions",
            id=comment_id,
            json={"content": reaction},
            idempotent=True,
        )

    # ------------------------------------------------------------------------ permission, checks

    async def permission(self, login: str) -> str:
        try:
            data = (await self._call("GET", "/collaborators/{login}/permission", login=login)).json()
        except NotFound:
            return "none"
        role = data.get("role_name")
        return role if role in LEVELS else data.get("permission") or "none"

    async def is_team(self, name: str) -> bool:
        return "/" in name  # GitHub teams are always `org/team`: no call

    async def team_members(self, team: str) -> tuple[str, ...]:
        org, _, slug = team.partition("/")
        if not org or not slug:
            return ()
        try:
            return tuple(
                [
                    m["login"]
                    async for m in self.api.paginate(
                        "/orgs/{org}/teams/{team_slug}/members",
                        installation_id=self.installation_id,
                        org=org,
                        team_slug=slug,
                    )
                ]
            )
        except (NotFound, Forbidden) as exc:  # no such team, or `members: read` not granted
            log.warning("github.team_unreadable", team=team, error=str(exc))
            return ()

    async def report_check(self, report: CheckReport) -> None:
        level = "failure" if report.conclusion == "failure" else "warning"
        annotations = [
            {
                "path": a.path,
                "start_line": a.line,
                "end_line": a.line,
                "annotation_level": level,
                "message": a.message,
            }
            for a in report.annotations[:MAX_ANNOTATIONS]
        ]
        summary = report.summary
        if (hidden := len(report.annotations) - MAX_ANNOTATIONS) > 0:
            summary += f"\n\n{hidden} more problem(s) not shown as annotations."
        payload = {
            "name": report.name,
            "head_sha": report.commit,
            "status": "completed",
            "conclusion": report.conclusion,
            "output": {"title": report.title, "summary": summary, "annotations": annotations},
        }
        await self._call("POST", "/check-runs", json=payload)
