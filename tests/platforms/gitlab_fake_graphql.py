"""GitLab's GraphQL endpoint for `FakeGitLab`, behind respx (the adapter's GraphQL client is httpx).

Answers the four operations the adapter sends, shaped like GitLab 17/18: HTTP 200 with `data`,
refusals as a mutation's own `errors` or as top-level `errors` (`data` null), iids as strings,
global ids `gid://gitlab/WorkItem/<issue id>`. Modes: `hierarchy` (a current GitLab), `unsupported`
(an old GitLab whose schema has no work item fields), `absent` (no /api/graphql: 404).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
import respx

if TYPE_CHECKING:
    from .gitlab_fake import FakeGitLab

GraphQLMode = Literal["hierarchy", "unsupported", "absent"]
TASK_TYPE = "gid://gitlab/WorkItems::Type/5"
ISSUE_TYPE = "gid://gitlab/WorkItems::Type/1"
NOT_AVAILABLE = (
    "The resource that you are attempting to access does not exist or you don't have permission "
    "to perform this action"
)


@dataclass
class FakeGraphQL:
    gitlab: FakeGitLab
    mode: GraphQLMode = "hierarchy"
    parents: dict[int, int] = field(default_factory=dict)  # child iid -> parent iid, link order
    operations: list[str] = field(default_factory=list)  # operationName of every request
    reject_parent: str | None = None  # a refusal message for the next workItemSetParent calls
    canned: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer (RateLimit-*)

    def mount(self, router: respx.MockRouter) -> None:
        router.post(f"{self.gitlab.base}/api/graphql").mock(side_effect=self)

    def fail(self, operation: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.canned.append((operation, status, headers or {}))

    def children_of(self, iid: int) -> list[int]:
        return [c for c, p in self.parents.items() if p == iid]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        op, variables = body.get("operationName"), body.get("variables") or {}
        self.operations.append(op)
        for canned in self.canned:
            if canned[0] == op:
                self.canned.remove(canned)
                return httpx.Response(canned[1], headers=canned[2], json={"message": f"{canned[1]} Error"})
        if self.mode == "absent":
            return httpx.Response(404, json={"message": "404 Not Found"})
        if self.mode == "unsupported":
            return _undefined_field(op)
        handler = {
            "workItemTypes": self._types,
            "workItemConvert": self._convert,
            "workItemSetParent": self._set_parent,
            "workItemChildren": self._children,
            "repositoryBlobs": self._blobs,
        }.get(op)
        if handler is None:
            return httpx.Response(200, json={"errors": [{"message": f"unexpected operation {op}"}]})
        return httpx.Response(200, headers=self.headers, json=handler(variables))

    # ---------------------------------------------------------------------------- handlers

    def _blobs(self, variables: dict[str, Any]) -> dict[str, Any]:
        """project.repository.blobs(ref, paths): a node per existing path; rawTextBlob is null
        for binary content."""
        if variables.get("project") != self.gitlab.spec.full_name:
            return {"data": {"project": None}}
        files = self.gitlab.commits.get(variables.get("ref", ""), {})
        nodes = []
        for path in variables.get("paths") or []:
            if path in files:
                try:
                    text = None if b"\0" in files[path] else files[path].decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                nodes.append({"path": path, "rawTextBlob": text})
        return {"data": {"project": {"repository": {"blobs": {"nodes": nodes}}}}}

    def _issue(self, global_id: str | None) -> dict[str, Any] | None:
        if not global_id or not global_id.startswith("gid://gitlab/WorkItem/"):
            return None
        issue_id = int(global_id.rsplit("/", 1)[1])
        return next((i for i in self.gitlab.issues.values() if i["id"] == issue_id), None)

    def _types(self, variables: dict[str, Any]) -> dict[str, Any]:
        if variables.get("path") != self.gitlab.path:
            return {"data": {"project": None}}
        return {"data": {"project": {
            "task": {"nodes": [{"id": TASK_TYPE, "name": "Task"}]},
            "issue": {"nodes": [{"id": ISSUE_TYPE, "name": "Issue"}]},
        }}}  # fmt: skip

    def _convert(self, variables: dict[str, Any]) -> dict[str, Any]:
        issue = self._issue(variables.get("id"))
        if issue is None:
            return _not_available("workItemConvert")
        kind = {TASK_TYPE: "task", ISSUE_TYPE: "issue"}[variables["type"]]
        if kind == "task" and self.children_of(issue["iid"]):
            return {"data": {"workItemConvert": {"workItem": None, "errors": [
                "Work item type cannot be changed to Task when linked to a parent issue."]}}}  # fmt: skip
        issue.update(issue_type=kind, type=kind.upper())
        return {"data": {"workItemConvert": {"workItem": {"id": variables["id"]}, "errors": []}}}

    def _set_parent(self, variables: dict[str, Any]) -> dict[str, Any]:
        child = self._issue(variables.get("id"))
        if child is None:
            return _not_available("workItemUpdate")
        if variables.get("parent") is None:
            self.parents.pop(child["iid"], None)
            return {"data": {"workItemUpdate": {"workItem": {"id": variables["id"]}, "errors": []}}}
        parent = self._issue(variables["parent"])
        if parent is None:
            return _not_available("workItemUpdate")
        ref = f"#{parent['iid']}"  # GitLab rewrites the message to name the parent
        refusal = self.reject_parent
        if child["issue_type"] != "task" or parent["issue_type"] != "issue":
            refusal = "is not allowed to add this type of parent"
        if refusal:
            return {
                "data": {
                    "workItemUpdate": {"workItem": None, "errors": [f"{ref} cannot be added: {refusal}"]}
                }
            }
        self.parents[child["iid"]] = parent["iid"]
        return {"data": {"workItemUpdate": {"workItem": {"id": variables["id"]}, "errors": []}}}

    def _children(self, variables: dict[str, Any]) -> dict[str, Any]:
        parent = self._issue(variables.get("id"))
        if parent is None:
            return {"data": {"workItem": None}}
        start = int(variables.get("after") or 0)
        iids = self.children_of(parent["iid"])
        page = iids[start : start + 100]
        nodes = [
            {"id": f"gid://gitlab/WorkItem/{self.gitlab.issues[i]['id']}", "iid": str(i),
             "title": self.gitlab.issues[i]["title"],
             "state": "CLOSED" if self.gitlab.issues[i]["state"] == "closed" else "OPEN",
             "webUrl": f"{self.gitlab.base}/{self.gitlab.path}/-/work_items/{i}"}
            for i in page
        ]  # fmt: skip
        more = start + 100 < len(iids)
        hierarchy = {"type": "HIERARCHY", "children": {
            "nodes": nodes, "pageInfo": {"hasNextPage": more, "endCursor": str(start + 100) if more else None}}}  # fmt: skip
        widgets = [{"type": "ASSIGNEES"}, {"type": "DESCRIPTION"}, hierarchy, {"type": "LABELS"}]
        return {"data": {"workItem": {"widgets": widgets}}}


def _not_available(field_name: str) -> dict[str, Any]:
    error = {"message": NOT_AVAILABLE, "locations": [{"line": 2, "column": 3}], "path": [field_name]}
    return {"data": {field_name: None}, "errors": [error]}


def _undefined_field(op: str) -> httpx.Response:
    """What a GitLab without work items answers: the schema has no such field (HTTP 200)."""
    root, type_name = {
        "workItemTypes": ("workItemTypes", "Project"),
        "workItemConvert": ("workItemConvert", "Mutation"),
        "workItemSetParent": ("workItemUpdate", "Mutation"),
        "workItemChildren": ("workItem", "Query"),
    }.get(op, (op, "Query"))
    error = {
        "message": f"Field '{root}' doesn't exist on type '{type_name}'",
        "locations": [{"line": 2, "column": 3}],
        "path": [f"{'mutation' if type_name == 'Mutation' else 'query'} {op}", root],
        "extensions": {"code": "undefinedField", "typeName": type_name, "fieldName": root},
    }
    return httpx.Response(200, json={"errors": [error]})
