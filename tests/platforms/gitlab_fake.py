"""A small stateful GitLab REST API behind `responses`, with realistic JSON, for the adapter tests.

Only what the adapter calls is implemented, shaped like GitLab 17/18 responses (ids vs iids,
`opened`/`closed`, keyset `Link` headers on the tree, offset `Link` headers elsewhere, 404/409
bodies with `message`). `fail(...)` queues canned responses (502, 429 + Retry-After, …) that are
served before the world answers.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse

import requests
import responses

from .contract import WorldSpec
from .fake_github import git_blob_sha
from .gitlab_fake_graphql import FakeGraphQL

BASE = "https://gitlab.example.test"
API = f"{BASE}/api/v4"
PROJECT_ID = 4711
STAMP = "2026-11-20T09:30:00.000Z"
LEVELS = {"admin": 50, "maintain": 40, "write": 30, "triage": 20, "read": 10}
EMOJI_TO_REACTION = {"thumbsup": "+1", "thumbsdown": "-1", "tada": "hooray", "laughing": "laugh"}

Reply = tuple[int, dict[str, str], Any]


@dataclass
class Canned:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: Exception | None = None


class FakeGitLab:
    def __init__(self, spec: WorldSpec, rsps: responses.RequestsMock, *, tree_dirs: bool = True) -> None:
        self.spec = spec
        self.path = spec.full_name
        self.ids = itertools.count(90_000)
        self.users: dict[str, int] = {}
        for login in [spec.bot_login, *spec.permissions, *(i.author for i in spec.issues)]:
            self.user(login)
        self.members = {self.users[u]: LEVELS[lvl] for u, lvl in spec.permissions.items()}
        self.commits: dict[str, dict[str, bytes]] = {spec.head: dict(spec.files)}
        self.tree_dirs = tree_dirs
        self.labels = {name: self._label(name) for name in spec.labels}
        self.issues: dict[int, dict[str, Any]] = {}
        for s in spec.issues:
            self.issues[s.number] = self._issue(
                s.number, s.title, s.body, spec.author(s), s.labels, s.assignees, s.state
            )
        self.notes: dict[int, list[dict[str, Any]]] = {n: [] for n in self.issues}
        for c in spec.comments:
            self.notes[c.issue].append(self._note(c.issue, c.id, c.author, c.body))
        self.links: list[tuple[int, int, int]] = []  # (link id, source iid, target iid)
        self.awards: list[tuple[int, str]] = []
        self.posted_statuses: list[dict[str, Any]] = []
        self.pipelines = [
            {**self._pipeline(301, "failed"), "created_at": "2026-11-19T08:00:00.000Z"},
            self._pipeline(302, "running"),
        ]
        self.jobs = {
            301: [self._job(7001, "build", "failed", "https://ci.example.test/build/0", 301)],
            302: [
                self._job(7100 + i, r.name, _state(r.conclusion), r.url, 302)
                for i, r in enumerate(spec.ci[:2])
            ],
        }
        self.external = [
            self._status(8100 + i, r.name, _state(r.conclusion), r.url) for i, r in enumerate(spec.ci[2:])
        ]
        self.other_projects: list[dict[str, Any]] = []  # more results for GET /projects
        self.groups: dict[str, list[str]] = {}  # "group" or "group/subgroup" -> member usernames
        self.group_reads: list[str] = []  # GET /groups/:id answered 200, in order (the lookup's cost)
        self.requests: list[tuple[str, str]] = []  # (method, decoded path) of every REST request
        self.defaults: dict[str, str] = {}  # other project path -> its `.readiness.yml` (an org default)
        self.link_base = BASE  # what GitLab thinks its URL is (its external_url) in Link headers
        self.base = BASE
        self.graphql = FakeGraphQL(self)  # mount on a respx router to serve /api/graphql
        self.rest_hides_tasks = False  # GitLab before 16.3: the REST issues API 404s on tasks
        self.rest_creates_tasks = True  # GitLab 16.3+: POST issues takes issue_type=task
        self.canned: list[Canned] = []
        self.rate_remaining = 2000  # GitLab.com's authenticated API limit a minute, as RateLimit-*
        self._path = ""  # of the request being answered, for pagination links
        self._tree_cache: dict[str, list[dict[str, Any]]] = {}
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = []
        self._route()
        for method in ("GET", "POST", "PUT", "DELETE"):
            rsps.add_callback(method, re.compile(re.escape(API) + r"/.*"), callback=self._serve)

    # ------------------------------------------------------------------------ test controls

    def fail(self, method: str, path: str, status: int = 502, *, times: int = 1, headers: dict | None = None,
             body: Any = None, error: Exception | None = None) -> None:  # fmt: skip
        """Serve `status` (or raise `error`) for the next `times` requests matching `path` (a regex)."""
        for _ in range(times):
            msg = body if body is not None else {"message": f"{status} Error"}
            self.canned.append(Canned(method, re.compile(path), status, headers or {}, msg, error))

    def push(self, head: str, files: dict[str, bytes | str], jobs: tuple[tuple[str, str], ...] = ()) -> None:
        """A new commit on the default branch with exactly these files; `jobs` (name, GitLab status)
        run in one pipeline for it."""
        blobs = {p: c.encode() if isinstance(c, str) else c for p, c in files.items()}
        self.spec = replace(self.spec, head=head, files=blobs)
        self.commits[head] = blobs
        if jobs:
            pid = 400 + len(self.pipelines)
            self.pipelines.append(self._pipeline(pid, "success"))
            self.jobs[pid] = [
                self._job(8000 + pid * 10 + i, name, status, f"{BASE}/{self.path}/-/jobs/{i}", pid)
                for i, (name, status) in enumerate(jobs)
            ]

    def user(self, login: str) -> int:
        return self.users.setdefault(login, 100 + len(self.users))

    def reactions(self) -> list[tuple[int, str]]:
        return [(note, EMOJI_TO_REACTION.get(name, name)) for note, name in self.awards]

    def checks(self) -> list[tuple[str, str, str]]:
        back = {"failed": "failure", "success": "success"}
        return [(s["name"], s["sha"], back[s["status"]]) for s in self.posted_statuses]

    # ---------------------------------------------------------------------------- dispatch

    def _serve(self, request: requests.PreparedRequest) -> Reply | Exception:
        """Every answer carries GitLab's RateLimit-* headers (a canned reply's own win)."""
        url = urlparse(request.url or "")
        self.requests.append((request.method or "", unquote(url.path.removeprefix("/api/v4"))))
        reply = self._dispatch(request)
        if isinstance(reply, Exception):
            return reply
        status, headers, payload = reply
        self.rate_remaining = max(0, self.rate_remaining - 1)
        limits = {"RateLimit-Limit": "2000", "RateLimit-Remaining": str(self.rate_remaining)}
        return status, {**limits, **headers}, payload

    def _dispatch(self, request: requests.PreparedRequest) -> Reply | Exception:
        url = urlparse(request.url or "")
        path = url.path.removeprefix("/api/v4")
        for c in self.canned:
            if c.method == request.method and c.path.search(path):
                self.canned.remove(c)
                if c.error is not None:
                    return c.error
                return c.status, {"Content-Type": "application/json", **c.headers}, json.dumps(c.body)
        query = {k: ",".join(v) if k.endswith("[]") else v[-1] for k, v in parse_qs(url.query).items()}
        self._path = url.path
        body = json.loads(request.body) if request.body else {}
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(path)
            if m and method == request.method:
                args = {k: v for k, v in m.groupdict().items() if k != "project"}
                project = m.groupdict().get("project")
                if project is not None and unquote(project) in self.defaults:
                    status, headers, payload = self._defaults_project(unquote(project), path, query)
                elif project not in (None, str(PROJECT_ID), quote(self.path, safe="")):
                    status, headers, payload = _reply(404, {"message": "404 Project Not Found"})
                else:
                    status, headers, payload = handler(query=query, body=body, **args)
                if isinstance(payload, bytes):
                    return status, headers, payload
                return status, {"Content-Type": "application/json", **headers}, json.dumps(payload)
        return 404, {"Content-Type": "application/json"}, json.dumps({"message": "404 Not Found"})

    def _route(self) -> None:
        P = r"/projects/(?P<project>[^/]+)"
        I = P + r"/issues/(?P<iid>\d+)"  # noqa: E741
        for method, pattern, handler in [
            ("GET", r"/user", lambda **_: (200, {}, self._user(self.spec.bot_login))),
            ("GET", r"/users", self._users),
            ("GET", r"/projects", self._projects),
            ("GET", P, lambda **_: (200, {}, self._project())),
            ("GET", P + r"/repository/branches/(?P<name>[^/]+)", self._branch),
            ("GET", P + r"/repository/tree", self._tree),
            ("GET", P + r"/repository/files/(?P<file>[^/]+)/raw", self._raw),
            ("GET", P + r"/pipelines", self._pipelines),
            ("GET", P + r"/pipelines/(?P<pid>\d+)/jobs", self._jobs),
            ("GET", P + r"/repository/commits/(?P<sha>\w+)/statuses", self._statuses),
            ("POST", P + r"/statuses/(?P<sha>\w+)", self._post_status),
            ("GET", P + r"/issues", self._list_issues),
            ("POST", P + r"/issues", self._create_issue),
            ("GET", I, lambda iid, **_: self._with_issue(iid, self._get_issue)),
            ("PUT", I, self._update_issue),
            ("GET", P + r"/labels", lambda query, **_: self._page(list(self.labels.values()), query)),
            ("POST", P + r"/labels", self._create_label),
            ("GET", I + r"/links", self._list_links),
            ("POST", I + r"/links", self._create_link),
            ("DELETE", I + r"/links/(?P<link>\d+)", self._delete_link),
            ("GET", I + r"/notes", self._list_notes),
            ("POST", I + r"/notes", self._create_note),
            ("PUT", I + r"/notes/(?P<note>\d+)", self._update_note),
            ("POST", I + r"/notes/(?P<note>\d+)/award_emoji", self._award),
            ("GET", P + r"/members/all/(?P<uid>\d+)", self._member),
            ("GET", r"/groups/(?P<group>[^/]+)", self._group),
            ("GET", r"/groups/(?P<group>[^/]+)/members/all", self._group_members),
        ]:
            self.routes.append((method, re.compile(pattern), handler))

    # ---------------------------------------------------------------------------- handlers

    def _defaults_project(self, full: str, path: str, query: dict[str, str]) -> Reply:
        """Another project holding only an organisation default `.readiness.yml` on `main`
        (READINESS_GITLAB_DEFAULTS_PROJECT): its project, branch and raw file reads."""
        text = self.defaults[full].encode()
        head = git_blob_sha(text)  # a stable commit id that moves when the default changes
        rest = path.split("/", 3)[3] if path.count("/") >= 3 else ""
        ns, name = full.rsplit("/", 1)
        if rest == "":
            return 200, {}, {**self._project(), "id": PROJECT_ID + 1, "name": name, "path": name,
                             "path_with_namespace": full, "web_url": f"{BASE}/{full}"}  # fmt: skip
        if rest == "repository/branches/main":
            return 200, {}, {"name": "main", "commit": {"id": head, "short_id": head[:8]}, "default": True}
        if unquote(rest) == "repository/files/.readiness.yml/raw" and query.get("ref") == head:
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, text
        return _reply(404, {"message": f"404 Not Found in the defaults project {ns}/{name}"})

    def _users(self, query: dict[str, str], **_: Any) -> Reply:
        login = query.get("username", "")
        return 200, {}, [self._user(login)] if login in self.users else []

    def _projects(self, query: dict[str, str], **_: Any) -> Reply:
        if query.get("membership", "").lower() != "true" or query.get("min_access_level") != "30":
            return _reply(400, {"error": "the adapter must ask for member projects with Developer access"})
        return self._page([self._project(), *self.other_projects], query)

    def _branch(self, name: str, **_: Any) -> Reply:
        if name != self.spec.default_branch:
            return _reply(404, {"message": "404 Branch Not Found"})
        commit = {"id": self.spec.head, "short_id": self.spec.head[:8], "title": "Add runbook",
                  "message": "Add runbook\n", "parent_ids": ["a" * 40], "author_name": "Octo Cat",
                  "author_email": "octocat@example.test", "authored_date": STAMP, "committed_date": STAMP,
                  "created_at": STAMP,
                  "web_url": f"{BASE}/{self.path}/-/commit/{self.spec.head}"}  # fmt: skip
        return 200, {}, {"name": name, "commit": commit, "merged": False, "protected": True,
                         "default": True, "developers_can_push": False, "developers_can_merge": False,
                         "can_push": True, "web_url": f"{BASE}/{self.path}/-/tree/{name}"}  # fmt: skip

    def _tree(self, query: dict[str, str], **_: Any) -> Reply:
        files = self.commits.get(query.get("ref", ""))
        if files is None:
            return _reply(404, {"message": "404 Tree Not Found"})
        entries = self._entries(query["ref"], files)
        if query.get("recursive", "").lower() != "true":
            entries = [e for e in entries if "/" not in e["path"]]
        per_page = min(int(query.get("per_page", 20)), 100)
        start = int(query.get("page_token", "0") or 0)  # GitLab's token is opaque; an offset here
        chunk = entries[start : start + per_page]
        headers = {}
        if start + per_page < len(entries):
            q = {**query, "page_token": str(start + per_page)}
            headers["Link"] = (
                f'<{self.link_base}/api/v4/projects/{PROJECT_ID}/repository/tree?{urlencode(q)}>; rel="next"'
            )
        return 200, headers, chunk

    def _entries(self, ref: str, files: dict[str, bytes]) -> list[dict[str, Any]]:
        if ref not in self._tree_cache:
            dirs = sorted({"/".join(p.split("/")[:n]) for p in files for n in range(1, p.count("/") + 1)})
            entries = [{"id": f"{abs(hash(d)):040x}"[:40], "name": d.rsplit("/", 1)[-1], "type": "tree",
                        "path": d, "mode": "040000"} for d in dirs] if self.tree_dirs else []  # fmt: skip
            entries += [{"id": git_blob_sha(files[p]), "name": p.rsplit("/", 1)[-1], "type": "blob",
                         "path": p, "mode": "100644"} for p in sorted(files)]  # fmt: skip
            self._tree_cache[ref] = entries
        return self._tree_cache[ref]

    def _raw(self, file: str, query: dict[str, str], **_: Any) -> Reply:
        files = self.commits.get(query.get("ref", ""), {})
        path = file.replace("%2F", "/").replace("%2E", ".")
        if path not in files:
            return _reply(404, {"message": "404 File Not Found"})
        return (
            200,
            {"Content-Type": "text/plain; charset=utf-8", "X-Gitlab-Size": str(len(files[path]))},
            files[path],
        )

    def _pipelines(self, query: dict[str, str], **_: Any) -> Reply:
        found = [p for p in self.pipelines if p["sha"] == query.get("sha")]
        found.sort(key=lambda p: p["id"], reverse=query.get("sort", "desc") == "desc")
        return self._page(found, query)

    def _jobs(self, pid: str, query: dict[str, str], **_: Any) -> Reply:
        jobs = [{k: v for k, v in j.items() if k != "_status"} for j in self.jobs.get(int(pid), [])]
        return self._page(jobs, query)

    def _statuses(self, sha: str, query: dict[str, str], **_: Any) -> Reply:
        # Like GitLab: CI jobs are commit statuses too; the latest one per name unless `all`.
        everything = [j["_status"] for p in self.pipelines for j in self.jobs[p["id"]]]
        everything += self.external + self.posted_statuses
        latest: dict[str, dict[str, Any]] = {}
        for s in everything:
            if s["sha"] == sha:
                latest[s["name"]] = s
        return self._page(list(latest.values()), query)

    def _post_status(self, sha: str, body: dict[str, Any], **_: Any) -> Reply:
        if body.get("state") not in {"pending", "running", "success", "failed", "canceled", "skipped"}:
            return _reply(400, {"error": "state does not have a valid value"})
        status = {**self._status(next(self.ids), body.get("name", "default"), body["state"], None),
                  "sha": sha, "description": body.get("description"),
                  "author": self._user(self.spec.bot_login)}  # fmt: skip
        self.posted_statuses.append(status)
        return 201, {}, status

    def _get_issue(self, issue: dict[str, Any]) -> Reply:
        if self.rest_hides_tasks and issue["issue_type"] == "task":
            return _reply(404, {"message": "404 Not found"})
        return 200, {}, issue

    def _list_issues(self, query: dict[str, str], **_: Any) -> Reply:
        found = list(self.issues.values())
        if self.rest_hides_tasks:
            found = [i for i in found if i["issue_type"] != "task"]
        if "iids[]" in query:
            wanted = {int(n) for n in query["iids[]"].split(",")}
            found = [i for i in found if i["iid"] in wanted]
        if "author_id" in query:
            found = [i for i in found if str(i["author"]["id"]) == query["author_id"]]
        if query.get("state", "all") != "all":
            found = [i for i in found if i["state"] == query["state"]]
        return self._page(found, query)

    def _create_issue(self, body: dict[str, Any], **_: Any) -> Reply:
        if not body.get("title"):
            return _reply(400, {"error": "title is empty"})
        iid = max(self.issues, default=0) + 1
        logins = {v: k for k, v in self.users.items()}
        assignees = tuple(logins[i] for i in body.get("assignee_ids", []) if i)
        labels = tuple(_labels(body.get("labels", "")))
        for name in labels:  # GitLab creates unknown labels on use
            self.labels.setdefault(name, self._label(name))
        kind = body.get("issue_type") or "issue"
        if kind not in (
            ("issue", "incident", "test_case", "task")
            if self.rest_creates_tasks
            else ("issue", "incident", "test_case")
        ):
            return _reply(400, {"error": "issue_type does not have a valid value"})
        self.issues[iid] = self._issue(iid, body["title"], body.get("description", ""),
                                       self.spec.bot_login, labels, assignees, "open")  # fmt: skip
        self.issues[iid].update(issue_type=kind, type=kind.upper())
        self.notes[iid] = []
        return 201, {}, self.issues[iid]

    def _update_issue(self, iid: str, body: dict[str, Any], **_: Any) -> Reply:
        def update(issue: dict[str, Any]) -> Reply:
            if "title" in body:
                if not body["title"]:
                    return _reply(400, {"error": "title is empty"})
                issue["title"] = body["title"]
            if "description" in body:
                issue["description"] = body["description"]
            if "labels" in body:
                issue["labels"] = _labels(body["labels"])
            if "assignee_ids" in body:
                logins = {v: k for k, v in self.users.items()}
                issue["assignees"] = [self._user(logins[i]) for i in body["assignee_ids"] if i]
                issue["assignee"] = issue["assignees"][0] if issue["assignees"] else None
            if "state_event" in body:
                issue["state"] = "closed" if body["state_event"] == "close" else "opened"
            issue["updated_at"] = "2026-11-21T10:00:00.000Z"
            return 200, {}, issue

        return self._with_issue(iid, update)

    def _create_label(self, body: dict[str, Any], **_: Any) -> Reply:
        if body["name"] in self.labels:
            return _reply(409, {"message": "Label already exists"})
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", body.get("color", "")):
            return _reply(400, {"message": {"color": ["must be a valid color code"]}})
        self.labels[body["name"]] = {**self._label(body["name"]), "color": body["color"]}
        return 201, {}, self.labels[body["name"]]

    def _list_links(self, iid: str, **_: Any) -> Reply:
        def listing(issue: dict[str, Any]) -> Reply:
            out = []
            for link_id, src, dst in self.links:
                if int(iid) in (src, dst):
                    other = self.issues[dst if src == int(iid) else src]
                    out.append({**other, "issue_link_id": link_id, "link_type": "relates_to",
                                "link_created_at": STAMP, "link_updated_at": STAMP})  # fmt: skip
            return 200, {}, out

        return self._with_issue(iid, listing)

    def _create_link(self, iid: str, body: dict[str, Any], **_: Any) -> Reply:
        if str(body.get("target_project_id")) != str(PROJECT_ID):  # paths were rejected here
            return _reply(404, {"message": "404 Project Not Found"})
        src, dst = int(iid), int(body["target_issue_iid"])
        if src not in self.issues or dst not in self.issues:
            return _reply(404, {"message": "404 Not found"})
        if any({s, d} == {src, dst} for _, s, d in self.links):
            return _reply(409, {"message": "Issue(s) already assigned"})
        self.links.append((next(self.ids), src, dst))
        return 201, {}, {"source_issue": self.issues[src], "target_issue": self.issues[dst],
                         "link_type": body.get("link_type", "relates_to")}  # fmt: skip

    def _delete_link(self, iid: str, link: str, **_: Any) -> Reply:
        for entry in self.links:
            if entry[0] == int(link) and int(iid) in entry[1:]:
                self.links.remove(entry)
                src, dst = entry[1], entry[2]
                return 200, {}, {"source_issue": self.issues[src], "target_issue": self.issues[dst],
                                 "link_type": "relates_to"}  # fmt: skip
        return _reply(404, {"message": "404 Not found"})

    def _list_notes(self, iid: str, query: dict[str, str], **_: Any) -> Reply:
        return self._with_issue(iid, lambda i: self._page(self.notes[int(iid)], query))

    def _create_note(self, iid: str, body: dict[str, Any], **_: Any) -> Reply:
        def create(issue: dict[str, Any]) -> Reply:
            note = self._note(int(iid), next(self.ids), self.spec.bot_login, body["body"])
            self.notes[int(iid)].append(note)
            return 201, {}, note

        return self._with_issue(iid, create)

    def _update_note(self, iid: str, note: str, body: dict[str, Any], **_: Any) -> Reply:
        for n in self.notes.get(int(iid), []):
            if n["id"] == int(note):
                n["body"], n["updated_at"] = body["body"], "2026-11-21T10:00:00.000Z"
                return 200, {}, n
        return _reply(404, {"message": "404 Note Not Found"})

    def _award(self, iid: str, note: str, body: dict[str, Any], **_: Any) -> Reply:
        if not any(n["id"] == int(note) for n in self.notes.get(int(iid), [])):
            return _reply(404, {"message": "404 Note Not Found"})
        if (int(note), body["name"]) in self.awards:
            return _reply(400, {"message": {"base": ["User has already been taken"]}})
        self.awards.append((int(note), body["name"]))
        return 201, {}, {"id": next(self.ids), "name": body["name"], "user": self._user(self.spec.bot_login),
                         "created_at": STAMP, "updated_at": STAMP, "awardable_id": int(note),
                         "awardable_type": "Note"}  # fmt: skip

    def _group(self, group: str, query: dict[str, str], **_: Any) -> Reply:
        """`GET /groups/:id` by (URL-encoded, case-insensitive) path. A user's name is no group:
        404, as for a group the token cannot see. Projects are embedded unless
        `with_projects=false` (deprecated, still the default in API v4)."""
        found = {g.lower(): g for g in self.groups}.get(unquote(group).lower())
        if found is None:
            return _reply(404, {"message": "404 Group Not Found"})
        self.group_reads.append(found)
        parent, _, path = found.rpartition("/")
        body: dict[str, Any] = {
            "id": 3000 + sorted(self.groups).index(found), "name": path.title(), "path": path,
            "description": "", "visibility": "private", "share_with_group_lock": False,
            "require_two_factor_authentication": False, "project_creation_level": "developer",
            "subgroup_creation_level": "maintainer", "lfs_enabled": True, "avatar_url": None,
            "web_url": f"{BASE}/groups/{found}", "request_access_enabled": False,
            "full_name": " / ".join(p.title() for p in found.split("/")), "full_path": found,
            "parent_id": 3000 + sorted(self.groups).index(parent) if parent in self.groups else None,
            "created_at": STAMP, "shared_with_groups": [],
        }  # fmt: skip
        if query.get("with_projects", "true").lower() != "false":
            body.update(projects=[self._project()], shared_projects=[])
        return 200, {}, body

    def _group_members(self, group: str, query: dict[str, str], **_: Any) -> Reply:
        """`GET /groups/:id/members/all` (inherited members too); 404 for an unknown group."""
        members = self.groups.get(unquote(group))
        if members is None:
            return _reply(404, {"message": "404 Group Not Found"})
        rows = [{**self._user(m), "access_level": 30, "membership_state": "active"} for m in members]
        return self._page(rows, query)

    def _member(self, uid: str, **_: Any) -> Reply:
        level = self.members.get(int(uid))
        if level is None:
            return _reply(404, {"message": "404 Not found"})
        login = next(k for k, v in self.users.items() if v == int(uid))
        return 200, {}, {**self._user(login), "access_level": level, "created_at": STAMP,
                         "expires_at": None, "membership_state": "active"}  # fmt: skip

    # ------------------------------------------------------------------------------ shapes

    def _with_issue(self, iid: str, then: Callable[[dict[str, Any]], Reply]) -> Reply:
        issue = self.issues.get(int(iid))
        return then(issue) if issue is not None else _reply(404, {"message": "404 Not found"})

    def _page(self, items: list[Any], query: dict[str, str]) -> Reply:
        """Offset pagination with GitLab's headers and a `Link: rel="next"` when more remain."""
        per_page, page = min(int(query.get("per_page", 20)), 100), int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        total_pages = max(1, -(-len(items) // per_page))
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
                   "X-Total-Pages": str(total_pages)}  # fmt: skip
        if page < total_pages:
            headers["X-Next-Page"] = str(page + 1)
            headers["Link"] = f'<{BASE}{self._path}?{urlencode({**query, "page": page + 1})}>; rel="next"'
        return 200, headers, chunk

    def _user(self, login: str) -> dict[str, Any]:
        return {"id": self.user(login), "username": login, "name": login.title(), "state": "active",
                "locked": False, "avatar_url": None, "web_url": f"{BASE}/{login}"}  # fmt: skip

    def _project(self) -> dict[str, Any]:
        ns, name = self.path.rsplit("/", 1)
        return {"id": PROJECT_ID, "name": name, "path": name, "path_with_namespace": self.path,
                "name_with_namespace": f"{ns} / {name}", "default_branch": self.spec.default_branch,
                "archived": False, "visibility": "private", "empty_repo": False, "topics": [],
                "web_url": f"{BASE}/{self.path}", "http_url_to_repo": f"{BASE}/{self.path}.git",
                "namespace": {"id": 12, "name": ns, "path": ns, "kind": "group", "full_path": ns},
                "created_at": STAMP, "last_activity_at": STAMP}  # fmt: skip

    def _issue(self, iid: int, title: str, body: str, author: str, labels: tuple[str, ...],
               assignees: tuple[str, ...], state: str) -> dict[str, Any]:  # fmt: skip
        users = [self._user(a) for a in assignees]
        return {"id": 500_000 + iid, "iid": iid, "project_id": PROJECT_ID, "title": title,
                "description": body, "state": "closed" if state == "closed" else "opened",
                "created_at": STAMP, "updated_at": STAMP, "closed_at": None, "closed_by": None,
                "labels": list(labels), "milestone": None, "assignees": users,
                "assignee": users[0] if users else None, "author": self._user(author), "type": "ISSUE",
                "issue_type": "issue", "user_notes_count": 0, "confidential": False,
                "discussion_locked": None, "web_url": f"{BASE}/{self.path}/-/issues/{iid}",
                "references": {"short": f"#{iid}", "relative": f"#{iid}", "full": f"{self.path}#{iid}"},
                "task_completion_status": {"count": 0, "completed_count": 0}}  # fmt: skip

    def _note(self, iid: int, note_id: int, author: str, body: str) -> dict[str, Any]:
        return {"id": note_id, "type": None, "body": body, "attachment": None, "author": self._user(author),
                "created_at": STAMP, "updated_at": STAMP, "system": False, "noteable_id": 500_000 + iid,
                "noteable_type": "Issue", "project_id": PROJECT_ID, "resolvable": False,
                "confidential": False, "internal": False, "noteable_iid": iid}  # fmt: skip

    def _label(self, name: str) -> dict[str, Any]:
        return {"id": next(self.ids), "name": name, "color": "#428bca", "text_color": "#FFFFFF",
                "description": None, "open_issues_count": 0, "closed_issues_count": 0,
                "subscribed": False, "priority": None, "is_project_label": True}  # fmt: skip

    def _pipeline(self, pid: int, status: str) -> dict[str, Any]:
        return {"id": pid, "iid": pid - 300, "project_id": PROJECT_ID, "sha": self.spec.head, "ref": "main",
                "status": status, "source": "push", "created_at": STAMP, "updated_at": STAMP,
                "web_url": f"{BASE}/{self.path}/-/pipelines/{pid}"}  # fmt: skip

    def _job(self, jid: int, name: str, status: str, url: str | None, pid: int) -> dict[str, Any]:
        job = {"id": jid, "status": status, "stage": "test", "name": name, "ref": "main", "tag": False,
               "allow_failure": False, "created_at": STAMP, "started_at": STAMP, "finished_at": None,
               "pipeline": {"id": pid, "project_id": PROJECT_ID, "ref": "main", "sha": self.spec.head},
               "web_url": url}  # fmt: skip
        return {**job, "_status": {**self._status(jid, name, status, url), "pipeline_id": pid}}

    def _status(self, sid: int, name: str, status: str, url: str | None) -> dict[str, Any]:
        return {"id": sid, "sha": self.spec.head, "ref": "main", "status": status, "name": name,
                "target_url": url, "description": None, "created_at": STAMP, "started_at": None,
                "finished_at": None, "allow_failure": False, "coverage": None, "pipeline_id": 302,
                "author": self._user("hubot")}  # fmt: skip


def _state(conclusion: str) -> str:
    return {"success": "success", "failure": "failed", "pending": "running", "skipped": "skipped",
            "cancelled": "canceled"}[conclusion]  # fmt: skip


def _labels(value: str | list[str]) -> list[str]:
    """GitLab takes labels as a comma-separated string or, in JSON, an array."""
    return [x for x in (value.split(",") if isinstance(value, str) else value) if x]


def _reply(status: int, body: Any) -> Reply:
    return status, {}, body
