"""A small stateful GitHub REST fake behind respx, answering with GitHub's real JSON shapes.

One catch-all respx route dispatches on method + path (the GHES `/api/v3` prefix is stripped),
checks authentication like GitHub does (installation token for repository calls, an RS256 app JWT
verified with the public key for `/app…`), paginates with `Link` headers, and keeps state so
writes are visible to later reads. Tests inject faults with `fail_next` (instead of the write)
and `lose_answer` (after it: the write is applied, its answer lost) and watch `log`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from bot.core.snapshot import CIResult
from bot.platforms.github.api import graphql_endpoint

from .contract import WorldSpec

APP_ID = 123456
APP_SLUG = "readiness-bot"
INSTALLATION_ID = 4242
WEB = "https://github.test"
PERMISSIONS = {"issues": "write", "contents": "read", "checks": "write", "metadata": "read"}
Handler = Callable[..., httpx.Response]


def app_key_pair() -> tuple[str, str]:
    """A real 2048-bit GitHub App key (private PEM, public PEM), so JWT signing is exercised."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def git_blob_sha(content: bytes) -> str:
    """The sha git gives a blob: callers may cache contents by it, so it must follow content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _user(login: str, uid: int) -> dict[str, Any]:
    bot = login.endswith("[bot]")
    return {
        "login": login,
        "id": uid,
        "node_id": base64.b64encode(f"04:User{uid}".encode()).decode(),
        "avatar_url": f"https://avatars.githubusercontent.test/u/{uid}?v=4",
        "url": f"{WEB}/api/v3/users/{login}",
        "html_url": f"{WEB}/{login.removesuffix('[bot]')}" if not bot else f"{WEB}/apps/{APP_SLUG}",
        "type": "Bot" if bot else "User",
        "site_admin": False,
    }


_ORG_REPO = re.compile(r"^/repos/(?P<owner>[^/]+)/\.github(?P<rest>/.*)?$")


def _error(status: int, message: str, **extra: Any) -> httpx.Response:
    body = {"message": message, "documentation_url": "https://docs.github.com/rest", "status": str(status)}
    return httpx.Response(status, json={**body, **extra})


@dataclass
class FakeGitHub:
    spec: WorldSpec
    api: str  # e.g. https://github.test/api/v3
    public_key: str = ""
    token_lifetime: float = 3600.0
    now: Callable[[], float] = lambda: 1_800_000_000.0
    truncate_over: int | None = None  # recursive trees with more entries come back truncated
    fail_next: list[tuple[str, httpx.Response]] = field(default_factory=list)  # (path regex, reply)
    # (path regex, reply): the request is applied, then its answer replaced (a 502 after GitHub wrote)
    lose_answer: list[tuple[str, httpx.Response]] = field(default_factory=list)
    log: list[tuple[str, str, float]] = field(default_factory=list)  # (method, path, time) per request

    def __post_init__(self) -> None:
        s = self.spec
        self.full_name = s.full_name
        self.tokens: set[str] = set()
        self.minted = 0
        self.not_modified = 0
        self.org_files: dict[str, bytes] = {}  # the organisation's `.github` repository, if any
        self.rate_remaining: dict[str, int] = {}  # by credential (token, or the App JWT): core limit
        self.users: dict[str, int] = {}
        self.blobs: dict[str, bytes] = {}
        self.trees = self._build_trees(s.files)
        self.commits = {s.head: self.root, s.default_branch: self.root}
        self.files_at: dict[str, dict[str, bytes]] = {self.root: dict(s.files)}  # root tree -> files
        self.labels: dict[str, dict[str, Any]] = {}
        for name in s.labels:
            self._label(name)
        self.issues: dict[int, dict[str, Any]] = {}
        for seed in s.issues:
            self._new_issue(seed.number, seed.title, seed.body, s.author(seed), seed.labels, seed.assignees)
            self.issues[seed.number]["state"] = seed.state
        pr = self._new_issue(len(self.issues) + 1, "Add readiness config", f"{s.issues[0].body}", s.bot_login)
        pr["pull_request"] = {
            "url": f"{self.api}/repos/{s.full_name}/pulls/{pr['number']}",
            "merged_at": None,
        }
        self.comments: dict[int, list[dict[str, Any]]] = {}
        for c in s.comments:
            self._new_comment(c.issue, c.body, c.author, c.id)
        self.children: dict[int, list[int]] = {}
        self.reactions: list[tuple[int, str]] = []
        self.check_runs_posted: list[dict[str, Any]] = []
        self.teams: dict[str, list[str]] = {}  # "org/team-slug" -> member logins
        self.org_default: str | None = None  # `.readiness.yml` of the owner's `.github` repository
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        for method, pattern, handler in [
            ("POST", r"/app/installations/(?P<iid>\d+)/access_tokens", self.h_token),
            ("GET", r"/app", self.h_app),
            ("GET", repo + r"/installation", self.h_repo_installation),
            ("GET", r"/installation/repositories", self.h_installation_repos),
            ("GET", repo, self.h_repo),
            ("GET", repo + r"/branches/(?P<branch>.+)", self.h_branch),
            ("GET", repo + r"/git/trees/(?P<sha>[^/]+)", self.h_tree),
            ("GET", repo + r"/contents/(?P<path>.+)", self.h_contents),
            ("GET", repo + r"/commits/(?P<ref>[^/]+)/check-runs", self.h_check_runs),
            ("GET", repo + r"/commits/(?P<ref>[^/]+)/status", self.h_status),
            ("POST", repo + r"/check-runs", self.h_create_check_run),
            ("GET", repo + r"/issues", self.h_list_issues),
            ("POST", repo + r"/issues", self.h_create_issue),
            ("GET", repo + r"/issues/(?P<number>\d+)", self.h_get_issue),
            ("PATCH", repo + r"/issues/(?P<number>\d+)", self.h_update_issue),
            ("GET", repo + r"/labels", self.h_labels),
            ("POST", repo + r"/labels", self.h_create_label),
            ("GET", repo + r"/issues/(?P<number>\d+)/sub_issues", self.h_sub_issues),
            ("POST", repo + r"/issues/(?P<number>\d+)/sub_issues", self.h_add_sub_issue),
            ("DELETE", repo + r"/issues/(?P<number>\d+)/sub_issue", self.h_remove_sub_issue),
            ("GET", repo + r"/issues/(?P<number>\d+)/comments", self.h_comments),
            ("POST", repo + r"/issues/(?P<number>\d+)/comments", self.h_create_comment),
            ("PATCH", repo + r"/issues/comments/(?P<cid>\d+)", self.h_update_comment),
            ("POST", repo + r"/issues/comments/(?P<cid>\d+)/reactions", self.h_reaction),
            ("GET", repo + r"/collaborators/(?P<login>[^/]+)/permission", self.h_permission),
            ("POST", r"/graphql", self.h_graphql),
            ("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/members", self.h_team_members),
        ]:
            self.routes.append((method, re.compile(pattern + "$"), handler))

    # ------------------------------------------------------------------------ test controls

    def push(self, head: str, files: dict[str, bytes | str], ci: tuple[CIResult, ...] = ()) -> None:
        """A new commit on the default branch with exactly these files and CI results."""
        blobs = {p: c.encode() if isinstance(c, str) else c for p, c in files.items()}
        self.spec = replace(self.spec, head=head, files=blobs, ci=tuple(ci))
        self.trees.update(self._build_trees(blobs))
        self.commits[head] = self.commits[self.spec.default_branch] = self.root
        self.files_at[self.root] = blobs

    def edit_issue_as(self, login: str, number: int, body: str) -> dict[str, Any]:
        """A person edits an issue in the web UI; returns the issue as a webhook would show it."""
        issue = self.issues[number]
        issue["body"] = body
        issue["updated_at"] = "2026-11-22T10:00:00Z"
        return issue

    # --------------------------------------------------------------------------- dispatch

    @property
    def host(self) -> str:
        """The server root, for routers that must also see GraphQL (GHES serves it at /api/graphql,
        outside the REST base)."""
        return str(httpx.URL(self.api).copy_with(path="/"))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self._rate_headers(request, self._answer(request))

    def _rate_headers(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """GitHub's x-ratelimit-* headers: per credential, GraphQL its own budget, 304s free."""
        auth = request.headers.get("authorization", "")
        resource = "graphql" if request.url.path.endswith("/graphql") else "core"
        key = f"{resource}:{'app' if auth.startswith('Bearer') else auth}"
        left = self.rate_remaining.get(key, 5000)
        if response.status_code != 304:
            left = max(0, left - 1)
        self.rate_remaining[key] = left
        response.headers.setdefault("x-ratelimit-limit", "5000")
        response.headers.setdefault("x-ratelimit-remaining", str(left))
        response.headers.setdefault("x-ratelimit-resource", resource)
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        base = httpx.URL(self.api).path.rstrip("/")
        path = request.url.path.removeprefix(base)
        if request.url.path == httpx.URL(graphql_endpoint(self.api)).path:
            path = "/graphql"
        self.log.append((request.method, path, self.now()))
        for i, (pattern, reply) in enumerate(self.fail_next):
            if re.search(pattern, f"{request.method} {path}"):
                del self.fail_next[i]
                return reply
        if self.org_default is not None and (m := _ORG_REPO.match(path)) and request.method == "GET":
            return self._org_repo(m["owner"], m["rest"] or "", raw="raw" in request.headers.get("accept", ""))
        lost = next(
            (i for i, (p, _) in enumerate(self.lose_answer) if re.search(p, f"{request.method} {path}")), None
        )
        for method, regex, handler in self.routes:
            if method == request.method and (m := regex.match(path)):
                if denied := self._authenticate(request, path):
                    return denied
                answer = self._conditional(request, handler(request, **m.groupdict()))
                return answer if lost is None else self.lose_answer.pop(lost)[1]
        return _error(404, "Not Found")

    def _org_repo(self, owner: str, rest: str, *, raw: bool) -> httpx.Response:
        """The organisation's `.github` repository: one commit holding `org_default`."""
        head = "0" * 39 + "9"
        if rest == "":
            repo = {**self._repo_json(), "name": ".github", "full_name": f"{owner}/.github", "id": 1296270}
            return httpx.Response(200, json=repo)
        if rest == "/branches/main":
            return httpx.Response(200, json={"name": "main", "commit": {"sha": head}, "protected": False})
        if rest == "/contents/.readiness.yml":
            assert self.org_default is not None
            data = self.org_default.encode()
            if raw:
                return httpx.Response(200, content=data)
            content = base64.b64encode(data).decode()
            body = {"type": "file", "encoding": "base64", "path": ".readiness.yml", "content": content}
            return httpx.Response(200, json={**body, "size": len(data)})
        return _error(404, "Not Found")

    def _conditional(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """ETags like GitHub's: a matching If-None-Match gets an empty 304 (free of primary quota)."""
        if request.method != "GET" or response.status_code != 200:
            return response
        etag = f'W/"{hashlib.sha1(response.content).hexdigest()}"'
        if request.headers.get("if-none-match") == etag:
            self.not_modified += 1
            return httpx.Response(304, headers={"etag": etag})
        response.headers["etag"] = etag
        return response

    def _authenticate(self, request: httpx.Request, path: str) -> httpx.Response | None:
        auth = request.headers.get("authorization", "")
        if request.headers.get("x-github-api-version") != "2022-11-28":
            return _error(400, "Unsupported API version")
        if path.startswith("/app") or path.endswith("/installation"):
            scheme, _, token = auth.partition(" ")
            try:
                claims = (
                    jwt.decode(token, self.public_key, algorithms=["RS256"]) if scheme == "Bearer" else {}
                )
            except jwt.PyJWTError:
                claims = {}
            if claims.get("iss") != str(APP_ID):
                return _error(401, "A JSON web token could not be decoded")
            return None
        if auth.removeprefix("token ") not in self.tokens:
            return _error(401, "Bad credentials")
        return None

    def _page(self, request: httpx.Request, items: list[Any], key: str | None = None, **extra: Any):
        per_page = int(request.url.params.get("per_page", 30))
        page = int(request.url.params.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        last = max(1, -(-len(items) // per_page))
        if page < last:
            params = dict(request.url.params)
            links = []
            for rel, n in (("next", page + 1), ("last", last)):
                params["page"] = str(n)
                links.append(f'<{request.url.copy_with(query=urlencode(params).encode())}>; rel="{rel}"')
            headers["link"] = ", ".join(links)
        body = {"total_count": len(items), key: chunk, **extra} if key else chunk
        return httpx.Response(200, json=body, headers=headers)

    # ----------------------------------------------------------------------------- builders

    def _uid(self, login: str) -> int:
        return self.users.setdefault(login, 583231 + len(self.users))

    def _label(self, name: str) -> dict[str, Any]:
        if name not in self.labels:
            lid = 208045946 + len(self.labels)
            self.labels[name] = {
                "id": lid,
                "node_id": f"LA_kwDO{lid}",
                "url": f"{self.api}/repos/{self.full_name}/labels/{name}",
                "name": name,
                "color": "f29513",
                "default": False,
                "description": None,
            }
        return self.labels[name]

    def _new_issue(
        self, number: int, title: str, body: str, author: str, labels=(), assignees=()
    ) -> dict[str, Any]:
        issue_id = 2_917_000_000 + number * 7
        url = f"{self.api}/repos/{self.full_name}/issues/{number}"
        issue = {
            "url": url,
            "repository_url": f"{self.api}/repos/{self.full_name}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{WEB}/{self.full_name}/issues/{number}",
            "id": issue_id,
            "node_id": f"I_kwDOAB{issue_id}",
            "number": number,
            "title": title,
            "user": _user(author, self._uid(author)),
            "labels": [self._label(n) for n in labels],
            "state": "open",
            "state_reason": None,
            "locked": False,
            "assignee": _user(assignees[0], self._uid(assignees[0])) if assignees else None,
            "assignees": [_user(a, self._uid(a)) for a in assignees],
            "milestone": None,
            "comments": 0,
            "created_at": "2026-11-20T09:00:00Z",
            "updated_at": "2026-11-20T09:00:00Z",
            "closed_at": None,
            "author_association": "NONE" if author.endswith("[bot]") else "MEMBER",
            "active_lock_reason": None,
            "body": body,
            "reactions": {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0},
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        }
        self.issues[number] = issue
        return issue

    def _new_comment(self, number: int, body: str, author: str, cid: int | None = None) -> dict[str, Any]:
        cid = cid or 1_500_000_000 + sum(len(v) for v in self.comments.values())
        comment = {
            "id": cid,
            "node_id": f"IC_kwDO{cid}",
            "url": f"{self.api}/repos/{self.full_name}/issues/comments/{cid}",
            "html_url": f"{WEB}/{self.full_name}/issues/{number}#issuecomment-{cid}",
            "body": body,
            "user": _user(author, self._uid(author)),
            "created_at": "2026-11-20T09:05:00Z",
            "updated_at": "2026-11-20T09:05:00Z",
            "issue_url": f"{self.api}/repos/{self.full_name}/issues/{number}",
            "author_association": "NONE",
        }
        self.comments.setdefault(number, []).append(comment)
        self.issues[number]["comments"] += 1
        return comment

    def _build_trees(self, files: dict[str, bytes]) -> dict[str, list[dict[str, Any]]]:
        """Git tree objects (sha -> entries) for the files; sets `self.root`."""
        dirs: dict[str, dict[str, Any]] = {"": {}}
        for path in files:
            parts = path.split("/")
            for i in range(1, len(parts)):
                dirs.setdefault("/".join(parts[:i]), {})
            dirs["/".join(parts[:-1])][parts[-1]] = ("blob", path)
        for d in dirs:
            if d:
                parent, _, name = d.rpartition("/")
                dirs[parent][name] = ("tree", d)
        trees: dict[str, list[dict[str, Any]]] = {}
        shas: dict[str, str] = {}
        for d in sorted(dirs, key=lambda x: -x.count("/") - (1 if x else 0)):
            entries = []
            for name, (kind, full) in sorted(dirs[d].items()):
                if kind == "blob":
                    sha = git_blob_sha(files[full])  # content-addressed, as in git
                    self.blobs[sha] = files[full]
                    entries.append(
                        {
                            "path": name,
                            "mode": "100644",
                            "type": "blob",
                            "sha": sha,
                            "size": len(files[full]),
                            "url": f"{self.api}/git/blobs/{sha}",
                        }
                    )
                else:
                    entries.append(
                        {
                            "path": name,
                            "mode": "040000",
                            "type": "tree",
                            "sha": shas[full],
                            "url": f"{self.api}/git/trees/{shas[full]}",
                        }
                    )
            shas[d] = _sha("tree " + d + json.dumps(entries))
            trees[shas[d]] = entries
        self.root = shas[""]
        return trees

    def _flat(self, sha: str, prefix: str = "") -> list[dict[str, Any]]:
        out = []
        for e in self.trees[sha]:
            out.append({**e, "path": prefix + e["path"]})
            if e["type"] == "tree":
                out.extend(self._flat(e["sha"], f"{prefix}{e['path']}/"))
        return out

    # ------------------------------------------------------------------------------ handlers

    def h_token(self, request: httpx.Request, iid: str) -> httpx.Response:
        if int(iid) != INSTALLATION_ID:
            return _error(404, "Not Found")
        self.minted += 1
        token = f"ghs_{self.minted:04d}" + "x" * 32
        self.tokens.add(token)
        expires = self.now() + self.token_lifetime
        stamp = dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "token": token,
            "expires_at": stamp,
            "permissions": PERMISSIONS,
            "repository_selection": "all",
        }
        return httpx.Response(201, json=body)

    def h_app(self, request: httpx.Request) -> httpx.Response:
        owner = _user("octo-org", 9919)
        return httpx.Response(
            200,
            json={
                "id": APP_ID,
                "slug": APP_SLUG,
                "node_id": "A_kwHOAB",
                "owner": owner,
                "name": "Readiness Bot",
                "permissions": PERMISSIONS,
                "events": ["issues", "push"],
                "installations_count": 1,
            },
        )

    def h_repo_installation(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        if f"{owner}/{repo}" != self.full_name:
            return _error(404, "Not Found")
        return httpx.Response(
            200,
            json={
                "id": INSTALLATION_ID,
                "app_id": APP_ID,
                "app_slug": APP_SLUG,
                "target_type": "Organization",
                "permissions": PERMISSIONS,
            },
        )

    def _repo_json(self) -> dict[str, Any]:
        owner, name = self.full_name.split("/")
        return {
            "id": 1296269,
            "node_id": "R_kgDOABC",
            "name": name,
            "full_name": self.full_name,
            "private": False,
            "owner": _user(owner, 9919),
            "html_url": f"{WEB}/{self.full_name}",
            "default_branch": self.spec.default_branch,
            "archived": False,
            "disabled": False,
            "visibility": "public",
        }

    def h_installation_repos(self, request: httpx.Request) -> httpx.Response:
        others = [
            {
                **self._repo_json(),
                "id": 1296270 + i,
                "full_name": f"octo-org/service-{i}",
                "name": f"service-{i}",
                "archived": i == 3,
            }
            for i in range(150)
        ]
        return self._page(request, [self._repo_json(), *others], "repositories", repository_selection="all")

    def _repo_check(self, owner: str, repo: str) -> httpx.Response | None:
        return None if f"{owner}/{repo}" == self.full_name else _error(404, "Not Found")

    def h_repo(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        return self._repo_check(owner, repo) or httpx.Response(200, json=self._repo_json())

    def h_branch(self, request: httpx.Request, owner: str, repo: str, branch: str) -> httpx.Response:
        if branch != self.spec.default_branch:
            return _error(404, "Branch not found")
        commit = {"sha": self.spec.head, "url": f"{self.api}/repos/{self.full_name}/commits/{self.spec.head}"}
        return httpx.Response(200, json={"name": branch, "commit": commit, "protected": True})

    def h_tree(self, request: httpx.Request, owner: str, repo: str, sha: str) -> httpx.Response:
        sha = self.commits.get(sha, sha)
        if sha not in self.trees:
            return _error(404, "Not Found")
        entries = self._flat(sha) if "recursive" in request.url.params else self.trees[sha]
        truncated = False
        if "recursive" in request.url.params and self.truncate_over and len(entries) > self.truncate_over:
            entries, truncated = entries[: self.truncate_over], True
        url = f"{self.api}/repos/{self.full_name}/git/trees/{sha}"
        return httpx.Response(200, json={"sha": sha, "url": url, "tree": entries, "truncated": truncated})

    def h_graphql(self, request: httpx.Request) -> httpx.Response:
        """GitHub's GraphQL, for the one query shape the bot sends: blobs by `<commit>:<path>`
        expressions (`object(expression:) { ... on Blob }`), null where nothing is there."""
        body = json.loads(request.content)
        variables = body.get("variables") or {}
        if f"{variables.get('owner')}/{variables.get('name')}" != self.full_name:
            name = f"{variables.get('owner')}/{variables.get('name')}"
            error = {
                "type": "NOT_FOUND",
                "path": ["repository"],
                "message": f"Could not resolve to a Repository with the name '{name}'.",
            }
            return httpx.Response(200, json={"data": {"repository": None}, "errors": [error]})
        repository: dict[str, Any] = {}
        for alias, var in re.findall(r"(\w+): object\(expression: \$(\w+)\)", body["query"]):
            commit, _, path = str(variables[var]).partition(":")
            content = self.files_at.get(self.commits.get(commit, ""), {}).get(path)
            if content is None:
                repository[alias] = None
                continue
            try:
                text: str | None = None if b"\0" in content else content.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            repository[alias] = {"text": text, "isBinary": text is None, "isTruncated": False}
        return httpx.Response(200, json={"data": {"repository": repository}})

    def h_contents(self, request: httpx.Request, owner: str, repo: str, path: str) -> httpx.Response:
        if f"{owner}/{repo}" != self.full_name:  # only the organisation's .github exists besides
            if repo != ".github" or path not in self.org_files or "ref" in request.url.params:
                return _error(404, "Not Found")
            return httpx.Response(200, content=self.org_files[path])
        ref = request.url.params.get("ref", self.spec.default_branch)
        files = self.files_at.get(self.commits.get(ref, ""), {})  # any commit's files, as on GitHub
        if path not in files:
            return _error(404, "Not Found")
        if "raw" in request.headers.get("accept", ""):
            return httpx.Response(200, content=files[path])
        content = base64.b64encode(files[path]).decode()
        return httpx.Response(
            200,
            json={
                "type": "file",
                "encoding": "base64",
                "path": path,
                "content": content,
                "size": len(files[path]),
            },
        )

    def _ci(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        runs, statuses = [], []
        raw = {
            "success": ("completed", "success"),
            "failure": ("completed", "failure"),
            "skipped": ("completed", "skipped"),
            "cancelled": ("completed", "cancelled"),
        }
        actions = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}
        for i, r in enumerate(self.spec.ci):
            if r.conclusion == "pending":
                statuses.append(
                    {
                        "url": f"{self.api}/repos/{self.full_name}/statuses/{self.spec.head}",
                        "id": 1000 + i,
                        "node_id": f"SC_{i}",
                        "state": "pending",
                        "description": "Deploying preview",
                        "target_url": r.url,
                        "context": r.name,
                        "created_at": "2026-11-20T09:00:00Z",
                        "updated_at": "2026-11-20T09:00:00Z",
                    }
                )
                continue
            status, conclusion = raw[r.conclusion]
            runs.append(
                {
                    "id": 4000 + i,
                    "head_sha": self.spec.head,
                    "node_id": f"CR_{i}",
                    "external_id": "",
                    "url": f"{self.api}/repos/{self.full_name}/check-runs/{4000 + i}",
                    "html_url": r.url,
                    "details_url": r.url,
                    "status": status,
                    "conclusion": conclusion,
                    "started_at": "2026-11-20T09:00:00Z",
                    "completed_at": "2026-11-20T09:02:00Z",
                    "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
                    "name": r.name,
                    "check_suite": {"id": 5000},
                    "app": actions,
                    "pull_requests": [],
                }
            )
        for posted in self.check_runs_posted:  # our own runs come back too; the adapter skips them
            runs.append({**posted, "app": {"id": APP_ID, "slug": APP_SLUG, "name": "Readiness Bot"}})
        return runs, statuses

    def h_check_runs(self, request: httpx.Request, owner: str, repo: str, ref: str) -> httpx.Response:
        if self.commits.get(ref, ref) != self.root and ref != self.spec.head:
            return self._page(request, [], "check_runs")
        return self._page(request, self._ci()[0], "check_runs")

    def h_status(self, request: httpx.Request, owner: str, repo: str, ref: str) -> httpx.Response:
        statuses = self._ci()[1] if ref == self.spec.head else []
        state = "pending" if statuses else "success"
        return self._page(request, statuses, "statuses", state=state, sha=ref)

    def h_create_check_run(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        body = json.loads(request.content)
        run = {"id": 9000 + len(self.check_runs_posted), "html_url": f"{WEB}/{self.full_name}/runs/1", **body}
        self.check_runs_posted.append(run)
        return httpx.Response(201, json=run)

    def h_list_issues(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        p = request.url.params
        items = [i for _, i in sorted(self.issues.items())]
        if p.get("state", "open") != "all":
            items = [i for i in items if i["state"] == p.get("state", "open")]
        if "creator" in p:
            items = [i for i in items if i["user"]["login"] == p["creator"]]
        return self._page(request, items)

    def _issue_or_404(self, number: str) -> dict[str, Any] | None:
        return self.issues.get(int(number))

    def h_create_issue(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("title"):
            return _error(
                422,
                "Validation Failed",
                errors=[{"resource": "Issue", "code": "missing_field", "field": "title"}],
            )
        number = max(self.issues) + 1
        issue = self._new_issue(
            number,
            body["title"],
            body.get("body") or "",
            self.spec.bot_login,
            tuple(body.get("labels", [])),
            tuple(body.get("assignees", [])),
        )
        return httpx.Response(201, json=issue)

    def h_get_issue(self, request: httpx.Request, owner: str, repo: str, number: str) -> httpx.Response:
        issue = self._issue_or_404(number)
        return httpx.Response(200, json=issue) if issue else _error(404, "Not Found")

    def h_update_issue(self, request: httpx.Request, owner: str, repo: str, number: str) -> httpx.Response:
        issue = self._issue_or_404(number)
        if not issue:
            return _error(404, "Not Found")
        body = json.loads(request.content)
        for key in ("title", "body", "state"):
            if key in body:
                issue[key] = body[key]
        if "labels" in body:
            issue["labels"] = [self._label(n) for n in body["labels"]]
        if "assignees" in body:
            issue["assignees"] = [_user(a, self._uid(a)) for a in body["assignees"]]
        issue["state_reason"] = "completed" if issue["state"] == "closed" else None
        issue["updated_at"] = "2026-11-21T10:00:00Z"
        return httpx.Response(200, json=issue)

    def h_labels(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        return self._page(request, list(self.labels.values()))

    def h_create_label(self, request: httpx.Request, owner: str, repo: str) -> httpx.Response:
        name = json.loads(request.content)["name"]
        if name in self.labels:
            return _error(
                422,
                "Validation Failed",
                errors=[{"resource": "Label", "code": "already_exists", "field": "name"}],
            )
        return httpx.Response(201, json=self._label(name))

    def h_sub_issues(self, request: httpx.Request, owner: str, repo: str, number: str) -> httpx.Response:
        if not self._issue_or_404(number):
            return _error(404, "Not Found")
        return self._page(request, [self.issues[n] for n in self.children.get(int(number), [])])

    def _by_id(self, issue_id: int) -> dict[str, Any] | None:
        return next((i for i in self.issues.values() if i["id"] == issue_id), None)

    def h_add_sub_issue(self, request: httpx.Request, owner: str, repo: str, number: str) -> httpx.Response:
        parent = self._issue_or_404(number)
        child = self._by_id(json.loads(request.content)["sub_issue_id"])
        if not parent or not child:
            return _error(404, "Not Found")
        if any(child["number"] in kids for kids in self.children.values()):
            return _error(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "Issue",
                        "code": "custom",
                        "field": "sub_issue_id",
                        "message": "Sub issue may only have one parent",
                    }
                ],
            )
        kids = self.children.setdefault(parent["number"], [])
        if len(kids) >= 100:
            return _error(
                422, "Validation Failed", errors=[{"message": "Parent cannot have more than 100 sub-issues"}]
            )
        kids.append(child["number"])
        parent["sub_issues_summary"]["total"] = len(kids)
        return httpx.Response(201, json=child)

    def h_remove_sub_issue(
        self, request: httpx.Request, owner: str, repo: str, number: str
    ) -> httpx.Response:
        child = self._by_id(json.loads(request.content)["sub_issue_id"])
        kids = self.children.get(int(number), [])
        if not child or child["number"] not in kids:
            return _error(404, "Not Found")
        kids.remove(child["number"])
        return httpx.Response(200, json=child)

    def h_comments(self, request: httpx.Request, owner: str, repo: str, number: str) -> httpx.Response:
        if not self._issue_or_404(number):
            return _error(404, "Not Found")
        return self._page(request, self.comments.get(int(number), []))

    def h_create_comment(self, request: httpx.Request, owner: str, repo: str, number: str) -> httpx.Response:
        if not self._issue_or_404(number):
            return _error(404, "Not Found")
        return httpx.Response(
            201, json=self._new_comment(int(number), json.loads(request.content)["body"], self.spec.bot_login)
        )

    def _comment(self, cid: str) -> dict[str, Any] | None:
        return next((c for cs in self.comments.values() for c in cs if c["id"] == int(cid)), None)

    def h_update_comment(self, request: httpx.Request, owner: str, repo: str, cid: str) -> httpx.Response:
        comment = self._comment(cid)
        if not comment:
            return _error(404, "Not Found")
        comment["body"] = json.loads(request.content)["body"]
        return httpx.Response(200, json=comment)

    def h_reaction(self, request: httpx.Request, owner: str, repo: str, cid: str) -> httpx.Response:
        if not self._comment(cid):
            return _error(404, "Not Found")
        content = json.loads(request.content)["content"]
        self.reactions.append((int(cid), content))
        user = _user(self.spec.bot_login, self._uid(self.spec.bot_login))
        return httpx.Response(
            201,
            json={
                "id": 1,
                "node_id": "REA_1",
                "user": user,
                "content": content,
                "created_at": "2026-11-21T10:00:00Z",
            },
        )

    def h_team_members(self, request: httpx.Request, org: str, slug: str) -> httpx.Response:
        """`GET /orgs/{org}/teams/{team_slug}/members`: 404 for a team that does not exist."""
        members = self.teams.get(f"{org}/{slug}")
        if members is None:
            return _error(404, "Not Found")
        return self._page(request, [_user(m, self._uid(m)) for m in members])

    def h_permission(self, request: httpx.Request, owner: str, repo: str, login: str) -> httpx.Response:
        level = self.spec.permissions.get(login)
        if level is None:
            return _error(404, "Not Found")
        legacy = {"maintain": "write", "triage": "read"}.get(level, level)
        return httpx.Response(
            200,
            json={
                "permission": legacy,
                "role_name": level,
                "user": {**_user(login, self._uid(login)), "role_name": level},
            },
        )
