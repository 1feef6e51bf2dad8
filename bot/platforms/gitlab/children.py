"""Section issues under the epic issue for `GitLabRepo`: child tasks or `relates_to` links.

Where the instance allows it (`READINESS_GITLAB_HIERARCHY=auto`, see `hierarchy`) a section
is converted to a Task and made a child of the epic; otherwise, and after any refusal, it is linked
with `relates_to` (every tier and version). Listing returns both kinds, each child once, so a
project linked one way earlier and the other way later still shows all its sections.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from bot.platforms.base import Issue, NotFound, PlatformError, RateLimited, Transient
from bot.platforms.fresh import FreshParents
from bot.platforms.gitlab import convert
from bot.platforms.gitlab.connection import GitLabConnection
from bot.platforms.gitlab.graphql import GraphQLError
from bot.platforms.gitlab.http import PER_PAGE, Conflict

T = TypeVar("T")


class ChildLinks:
    """The `link_child` / `list_children` / `unlink_child` part of `GitLabRepo`."""

    if TYPE_CHECKING:
        client: GitLabConnection
        full_name: str
        _project: Any
        _fresh: FreshParents

        async def _write(self, fn: Callable[[], T]) -> T: ...
        def _issue(self, data: dict[str, Any]) -> Issue: ...
        def _numeric_project_id(self) -> int: ...

    async def link_child(self, parent: Issue, child: Issue) -> None:
        """A child task of the epic where the instance allows it, else a `relates_to` link."""
        hierarchy = self.client.hierarchy
        if hierarchy.linking:
            try:
                if await self._link_as_task(parent, child):
                    self._fresh.linked(parent, child)
                    return
            except (Transient, RateLimited):
                raise  # says nothing about support: the job is retried
            except PlatformError as exc:
                hierarchy.give_up(str(exc))
        await self._link_related(parent, child)
        self._fresh.linked(parent, child)

    async def list_children(self, parent: Issue) -> list[Issue]:
        """Child tasks (GitLab's order), then `relates_to` links (oldest first), each once."""
        if (known := self._fresh.children(parent)) is not None:
            return known
        links = await self.client.run(lambda: self._links(parent.number))
        tasks = await self._child_tasks(parent)
        seen: set[int] = set()
        children = []
        for issue in [*tasks, *(self._issue(link) for link in links)]:
            if issue.id not in seen:
                seen.add(issue.id)
                children.append(issue)
        return children

    async def unlink_child(self, parent: Issue, child: Issue) -> None:
        """Removes the parent link and the `relates_to` link, whichever exist."""
        self._fresh.unlinked(parent, child)
        hierarchy = self.client.hierarchy
        if hierarchy.reading and any(n.id == child.id for n in await self._child_tasks(parent)):
            await self._write(lambda: hierarchy.set_parent(child.id, None))
        links = await self.client.run(lambda: self._links(parent.number))
        for link in links:
            if link["id"] == child.id:
                links_api = self._project.issues.get(parent.number, lazy=True).links
                with contextlib.suppress(NotFound):  # removed meanwhile
                    await self._write(partial(links_api.delete, link["issue_link_id"]))
                return

    async def _link_as_task(self, parent: Issue, child: Issue) -> bool:
        """Convert the child to a Task and set the epic as its parent; False: use links instead."""
        hierarchy = self.client.hierarchy
        task_type, issue_type = await self.client.run(lambda: hierarchy.types(self.full_name))
        if child.id not in hierarchy.created_tasks:  # created as a task: nothing to convert
            await self._write(lambda: hierarchy.convert(child.id, task_type))
        if not hierarchy.rest_checked:
            # Before GitLab 16.3 the REST issues API hid tasks (404): every later edit of the
            # section would fail. Checked once per client, on the first converted section.
            try:
                await self.client.run(lambda: self._project.issues.get(child.number))
            except NotFound:
                await self._convert_back(child, issue_type)
                hierarchy.give_up("the REST issues API does not serve tasks on this GitLab")
                return False
            hierarchy.rest_checked = True
        try:
            await self._write(lambda: hierarchy.set_parent(child.id, parent.id))
        except GraphQLError:
            if any(n.id == child.id for n in await self._child_tasks(parent)):
                return True  # already its child (re-linking after a crash)
            await self._convert_back(child, issue_type)
            raise
        return True

    async def _convert_back(self, child: Issue, issue_type: str) -> None:
        """Best effort: a section that is not a child task stays an ordinary issue."""
        with contextlib.suppress(PlatformError):
            await self._write(lambda: self.client.hierarchy.convert(child.id, issue_type))

    async def _link_related(self, parent: Issue, child: Issue) -> None:
        def link() -> None:
            target = {"target_issue_iid": child.number, "link_type": "relates_to"}
            target["target_project_id"] = self._numeric_project_id()
            with contextlib.suppress(Conflict):  # already linked: re-linking after a crash is harmless
                self._project.issues.get(parent.number, lazy=True).links.create(target)

        await self._write(link)

    async def _child_tasks(self, parent: Issue) -> list[Issue]:
        """Children in the work item hierarchy, as issues (one REST list for their details)."""
        hierarchy = self.client.hierarchy
        if not hierarchy.reading:
            return []
        try:
            nodes = await self.client.run(lambda: hierarchy.children(parent.id))
        except (Transient, RateLimited):
            raise
        except PlatformError as exc:
            hierarchy.give_up(str(exc), reading=True)
            return []
        if not nodes:
            return []
        iids = [int(n["iid"]) for n in nodes]

        def fetch() -> dict[int, Issue]:
            found = self._project.issues.list(iids=iids, state="all", per_page=PER_PAGE, iterator=True)
            return {int(i.attributes["iid"]): self._issue(i.attributes) for i in found}

        details = await self.client.run(fetch)
        return [details.get(int(n["iid"])) or convert.work_item(n) for n in nodes]

    def _links(self, number: int) -> list[dict[str, Any]]:
        """`relates_to` links of an issue, oldest first (GitLab's order); not paginated by GitLab."""
        links = self._project.issues.get(number, lazy=True).links.list(get_all=True)
        return [lk.attributes for lk in links if lk.attributes.get("link_type", "relates_to") == "relates_to"]
