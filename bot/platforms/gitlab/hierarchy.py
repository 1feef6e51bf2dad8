"""Sections as child tasks of the epic issue (GitLab's work item hierarchy), per client.

GitLab lets an Issue have Task children on every tier, through GraphQL only: a section issue is
converted to a Task (`workItemConvert`, the Task type id looked up with `workItemTypes(name: TASK)`
rather than hard-coded), then given the epic as parent (`workItemUpdate` with
`hierarchyWidget: {parentId}`; `parentId: null` removes it). A work item is an issue row
(`class WorkItem < Issue`, table `issues`), so `gid://gitlab/WorkItem/<issue id>` needs no lookup.

Instances without this (too old, GraphQL off, a refusal) fall back to `relates_to` links: `give_up`
records why, logs it once, and every later call on this client goes straight to links. Reading
children stays on as long as GraphQL answers, so tasks linked earlier are still listed.
All functions here block: call them through `GitLabClient.run` (reads) or `GitLabRepo._write`.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import structlog

from bot.platforms.gitlab.graphql import GitLabGraphQL, GraphQLError

log = structlog.get_logger(__name__)

Mode = Literal["auto", "links"]

TYPES = """query workItemTypes($path: ID!) {
  project(fullPath: $path) {
    task: workItemTypes(name: TASK) { nodes { id name } }
    issue: workItemTypes(name: ISSUE) { nodes { id name } }
  }
}"""
CONVERT = """mutation workItemConvert($id: WorkItemID!, $type: WorkItemsTypeID!) {
  workItemConvert(input: {id: $id, workItemTypeId: $type}) { workItem { id } errors }
}"""
SET_PARENT = """mutation workItemSetParent($id: WorkItemID!, $parent: WorkItemID) {
  workItemUpdate(input: {id: $id, hierarchyWidget: {parentId: $parent}}) { workItem { id } errors }
}"""
CHILDREN = """query workItemChildren($id: WorkItemID!, $after: String) {
  workItem(id: $id) {
    widgets {
      type
      ... on WorkItemWidgetHierarchy {
        children(first: 100, after: $after) {
          nodes { id iid title state webUrl }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
}"""


def gid(issue_id: int) -> str:
    return f"gid://gitlab/WorkItem/{issue_id}"


def model_id(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[1])


class Hierarchy:
    """What this GitLab instance supports, learned on first use, and the GraphQL operations."""

    def __init__(self, graphql: GitLabGraphQL, mode: Mode) -> None:
        self.graphql = graphql
        self.mode = mode
        self.linking = mode == "auto"  # make new children through the hierarchy
        self.reading = mode == "auto"  # list children through GraphQL
        self.rest_checked = False  # the REST issues API served a converted task once
        # Once tasks are known to work here, sections are created as tasks (REST `issue_type`,
        # GitLab 16.3+), saving the conversion; False after this GitLab refused that once.
        self.create_tasks = True
        self.created_tasks: set[int] = set()  # ids of issues created as tasks (no conversion)
        self.reason: str | None = None  # why we fell back, for logs and tests
        self._types: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def give_up(self, why: str, *, reading: bool = False) -> None:
        """Links from now on (and no GraphQL reads either when `reading`); logged once."""
        with self._lock:
            if not (self.linking or (reading and self.reading)):
                return
            if self.linking:
                self.reason = why
                log.info("gitlab_hierarchy_unavailable", fallback="relates_to links", reason=why)
            self.linking = False
            self.reading = self.reading and not reading

    # ------------------------------------------------------------------ blocking operations

    def types(self, full_name: str) -> tuple[str, str]:
        """(Task type id, Issue type id) for the project, cached."""
        if full_name not in self._types:
            data = self.graphql.execute("workItemTypes", TYPES, {"path": full_name})
            project = data.get("project") or {}
            ids = [((project.get(k) or {}).get("nodes") or [{}])[0].get("id") for k in ("task", "issue")]
            if not all(ids):
                raise GraphQLError("workItemTypes", [f"{full_name}: no Task/Issue work item type"])
            self._types[full_name] = (ids[0], ids[1])
        return self._types[full_name]

    def convert(self, issue_id: int, type_id: str) -> None:
        data = self.graphql.execute("workItemConvert", CONVERT, {"id": gid(issue_id), "type": type_id})
        _check("workItemConvert", data.get("workItemConvert"))

    def set_parent(self, issue_id: int, parent_id: int | None) -> None:
        parent = gid(parent_id) if parent_id is not None else None
        data = self.graphql.execute("workItemSetParent", SET_PARENT, {"id": gid(issue_id), "parent": parent})
        _check("workItemSetParent", data.get("workItemUpdate"))

    def children(self, parent_id: int) -> list[dict[str, Any]]:
        """Child work items (`id` as a global id, `iid` as a string), GitLab's order."""
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = self.graphql.execute("workItemChildren", CHILDREN, {"id": gid(parent_id), "after": after})
            widgets = (data.get("workItem") or {}).get("widgets") or []
            hierarchy = next((w for w in widgets if w.get("type") == "HIERARCHY"), None)
            page = (hierarchy or {}).get("children") or {}
            nodes += page.get("nodes") or []
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return nodes
            after = info.get("endCursor")


def _check(operation: str, payload: dict[str, Any] | None) -> None:
    """Mutations report refusals in their own `errors` with HTTP 200 and no top-level error."""
    if payload is None or payload.get("errors") or payload.get("workItem") is None:
        raise GraphQLError(operation, list((payload or {}).get("errors") or []))
