"""`readiness gitlab connect|disconnect` against GitLab faked at the HTTP layer (`responses`)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import responses
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import _register
from bot.cli import app as cli
from bot.config import load_settings
from bot.secrets import GITLAB_SIGNING_TOKEN, GITLAB_WEBHOOK_TOKEN, SecretStore, parse_keys
from bot.webhooks.verify import signing_key, standard_signature

KEY = Fernet.generate_key().decode()
API = "https://gitlab.example.com/api/v4"
HOOK_URL = "https://bot.example.com/webhooks/gitlab"
PUSH = (Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "gitlab" / "push.json").read_bytes()
# Somebody else's hook: connect leaves it alone and disconnect must not remove it.
FOREIGN = {"id": 1, "url": "https://ci.example.com/hook", "token_present": False}


class FakeGitLab:
    """Projects, group hooks (Premium or not) and project hooks; unknown routes fail (responses)."""

    def __init__(
        self, rsps: responses.RequestsMock, *, premium: bool, signing: bool = True, projects: int = 5
    ) -> None:
        self.premium, self.signing = premium, signing
        # The last two projects live in a subgroup: only include_subgroups=true lists them.
        self.projects = {
            i: f"acme/{'sub/' if i >= 8 + projects else ''}p{i}" for i in range(10, 10 + projects)
        }
        self.project_pages = 0
        self.secrets: dict[int, tuple[str, str | None]] = {}  # hook id -> (token, signing token)
        # GitLab's test hook: POSTs a push event to the hook URL; (headers, body) -> bot's status
        self.deliver: Callable[[dict[str, str], bytes], int] | None = None
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        self.tests: list[str] = []
        self.next_id = 100

        def r_add(method: str, url: Any, cb: Any, **_: Any) -> None:
            rsps.add_callback(method, url, callback=cb, content_type="application/json")

        r_add("GET", re.compile(rf"{API}/projects/acme%2Fp10$"), lambda q: self._json(self._project(10)))
        r_add(
            "GET",
            f"{API}/groups/acme",
            lambda q: self._json({"id": 7, "full_path": "acme"}),
            content_type="application/json",
        )
        r_add(
            "GET",
            re.compile(rf"{API}/groups/7/projects"),
            self._group_projects,
            content_type="application/json",
        )
        r_add("GET", re.compile(rf"{API}/(projects|groups)/\d+/hooks"), self._list)
        r_add("POST", re.compile(rf"{API}/(projects|groups)/\d+/hooks$"), self._create)
        r_add("DELETE", re.compile(rf"{API}/(projects|groups)/\d+/hooks/\d+$"), self._delete)
        r_add(
            "POST",
            re.compile(rf"{API}/projects/\d+/hooks/\d+/test/push_events$"),
            self._test,
            content_type="application/json",
        )

    @staticmethod
    def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> tuple:
        return status, dict(headers or {}), json.dumps(body)

    def _project(self, pid: int) -> dict[str, Any]:
        return {"id": pid, "path_with_namespace": self.projects[pid]}

    def _owner(self, url: str) -> str:
        return re.search(r"/(projects|groups)/(\d+)/hooks", url).group(0)  # type: ignore[union-attr]

    def _group_projects(self, req: Any) -> tuple:
        """GET /groups/:id/projects as GitLab documents it: offset pagination, `per_page` capped at
        100 (default 20), `x-next-page` and a Link `rel="next"` on every page but the last."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(req.url).query).items()}
        assert query.get("include_subgroups", "").lower() == "true"
        per_page, page = min(int(query.get("per_page", 20)), 100), int(query.get("page", 1))
        ids = sorted(self.projects)
        chunk = ids[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-len(ids) // per_page))
        headers = {
            "x-page": str(page),
            "x-per-page": str(per_page),
            "x-total": str(len(ids)),
            "x-total-pages": str(pages),
            "x-next-page": str(page + 1) if page < pages else "",
        }
        if page < pages:
            nxt = urlencode({**query, "page": page + 1})
            headers["link"] = f'<{API}/groups/7/projects?{nxt}>; rel="next"'
        self.project_pages += 1
        return self._json([self._project(i) for i in chunk], headers=headers)

    def _list(self, req: Any) -> tuple:
        owner = self._owner(req.url)
        if owner.startswith("/groups") and not self.premium:
            return self._json({"message": "403 Forbidden"}, 403)
        return self._json(self.hooks.get(owner, []))

    def _create(self, req: Any) -> tuple:
        body = json.loads(req.body)
        assert body["token"] and {body[k] for k in ("push_events", "tag_push_events", "issues_events")} == {
            True
        }
        assert body["note_events"] and body["pipeline_events"] and body["job_events"]
        self.next_id += 1
        hook = {"id": self.next_id, "url": body["url"], "token_present": True}
        self.secrets[self.next_id] = (body["token"], body.get("signing_token") if self.signing else None)
        if self.signing:
            hook["signing_token_present"] = bool(body.get("signing_token"))
        self.hooks.setdefault(self._owner(req.url), []).append(hook)
        return self._json(hook, 201)

    def _delete(self, req: Any) -> tuple:
        owner, hook_id = self._owner(req.url), int(req.url.rsplit("/", 1)[1])
        self.hooks[owner] = [h for h in self.hooks[owner] if h["id"] != hook_id]
        return 204, {}, ""

    def _test(self, req: Any) -> tuple:
        self.tests.append(req.url)
        if self.deliver is None:
            return self._json({"message": "201 Created"}, 201)
        token, signing = self.secrets[int(req.url.split("/hooks/")[1].split("/")[0])]
        msg_id, stamp = str(uuid.uuid4()), str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "x-gitlab-event": "Push Hook",
            "x-gitlab-token": token,
            "x-gitlab-event-uuid": msg_id,
            "idempotency-key": msg_id,
        }
        if signing:
            headers |= {
                "webhook-id": msg_id,
                "webhook-timestamp": stamp,
                "webhook-signature": standard_signature(signing_key(signing), msg_id, stamp, PUSH),
            }
        status = self.deliver(headers, PUSH)
        if status >= 300:  # GitLab reports the receiver's failure as 422
            return self._json({"message": f"[Hook execution failed: {status}]"}, 422)
        return self._json({"message": "201 Created"}, 201)

    def count(self) -> int:
        return sum(len(v) for v in self.hooks.values())


@pytest.fixture(autouse=True)
def _commands() -> None:
    _register()


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    return {
        "READINESS_DATABASE_URL": db_url,
        "READINESS_ENCRYPTION_KEY": KEY,
        "READINESS_PUBLIC_URL": "https://bot.example.com",
    }


def run(env: dict[str, str], *args: str) -> Any:
    base = ["--url", "https://gitlab.example.com", "--token", "glpat-test"]
    return CliRunner().invoke(cli, ["gitlab", args[0], *base, *args[1:]], env=env)


def test_project_connect_is_idempotent_and_disconnect_removes_it(env: dict[str, str], engine: Engine) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gl = FakeGitLab(rsps, premium=False)
        gl.hooks["/projects/10/hooks"] = [dict(FOREIGN)]
        first = run(env, "connect", "--project", "acme/p10")
        assert first.exit_code == 0, first.output
        assert gl.count() == 2 and gl.hooks["/projects/10/hooks"][1]["url"] == HOOK_URL
        assert len(gl.tests) == 1 and "test hook delivered" in first.output
        store = SecretStore(engine, parse_keys(KEY))
        assert store.get(GITLAB_WEBHOOK_TOKEN) and store.get(
            GITLAB_SIGNING_TOKEN,
        ).startswith("whsec_")  # type: ignore[union-attr]

        second = run(env, "connect", "--project", "acme/p10")
        assert second.exit_code == 0 and gl.count() == 2 and len(gl.tests) == 1
        assert "nothing changed" in second.output

        gone = run(env, "disconnect", "--project", "acme/p10")
        assert gone.exit_code == 0 and "removed 1" in gone.output
        assert gl.hooks["/projects/10/hooks"] == [FOREIGN]


def test_group_on_free_gets_a_hook_on_every_project_including_subgroups(
    env: dict[str, str], engine: Engine
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # 105 projects: two pages at GitLab's maximum of 100 per page; two are in a subgroup.
        gl = FakeGitLab(rsps, premium=False, signing=False, projects=105)
        gl.hooks["/projects/11/hooks"] = [dict(FOREIGN)]
        result = run(env, "connect", "--group", "acme")
        assert result.exit_code == 0, result.output
        assert gl.project_pages == 2 and "Premium" in result.output
        assert gl.count() == 106 and "105 hook(s) added" in result.output
        assert all(
            [h["url"] for h in gl.hooks[f"/projects/{pid}/hooks"] if h["url"] == HOOK_URL] == [HOOK_URL]
            for pid in gl.projects
        )
        assert len(gl.tests) == 1  # one test hook, not one per project
        assert (
            SecretStore(engine, parse_keys(KEY)).get(GITLAB_SIGNING_TOKEN) is None
        )  # not a signing instance

        again = run(env, "connect", "--group", "acme")
        assert again.exit_code == 0 and gl.count() == 106 and "nothing changed" in again.output

        gone = run(env, "disconnect", "--group", "acme")
        assert gone.exit_code == 0 and "removed 105" in gone.output
        assert gl.count() == 1 and gl.hooks["/projects/11/hooks"] == [FOREIGN]


def test_group_on_premium_gets_one_group_hook(env: dict[str, str]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gl = FakeGitLab(rsps, premium=True)
        gl.hooks["/groups/7/hooks"] = [dict(FOREIGN)]
        rsps.add_callback(
            "POST",
            re.compile(rf"{API}/groups/7/hooks/\d+/test/push_events$"),
            lambda q: gl._test(q),
            content_type="application/json",
        )
        result = run(env, "connect", "--group", "acme")
        assert result.exit_code == 0, result.output
        assert list(gl.hooks) == ["/groups/7/hooks"] and gl.count() == 2 and gl.project_pages == 0
        again = run(env, "connect", "--group", "acme")
        assert again.exit_code == 0 and gl.count() == 2 and len(gl.tests) == 1
        assert run(env, "disconnect", "--group", "acme").exit_code == 0
        assert gl.hooks["/groups/7/hooks"] == [FOREIGN]


def test_connect_needs_exactly_one_target_and_an_encryption_key(env: dict[str, str]) -> None:
    assert run(env, "connect").exit_code == 2
    no_key = {k: v for k, v in env.items() if k != "READINESS_ENCRYPTION_KEY"}
    result = run(no_key, "connect", "--project", "acme/p10")
    assert result.exit_code == 2 and "READINESS_ENCRYPTION_KEY" in result.output


@pytest.mark.parametrize("signing", [False, True], ids=["token", "signed"])
async def test_a_running_bot_accepts_a_hook_connected_after_it_started(
    env: dict[str, str], db_url: str, engine: Engine, signing: bool
) -> None:
    """No restart between `connect` and GitLab's test hook: the bot looks the new token up."""
    settings = load_settings(database_url=db_url, encryption_key=KEY)  # no GitLab secret in the env
    app = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    loop = asyncio.get_running_loop()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):

        def deliver(headers: dict[str, str], body: bytes) -> int:  # GitLab's side, another thread
            post = http.post("/webhooks/gitlab", content=body, headers=headers)
            return asyncio.run_coroutine_threadsafe(post, loop).result(timeout=30).status_code

        stranger = {"x-gitlab-event": "Push Hook", "x-gitlab-token": "not-a-token-we-gave-anyone"}
        assert (await http.post("/webhooks/gitlab", content=PUSH, headers=stranger)).status_code == 401
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_passthru("http://bot")
            gl = FakeGitLab(rsps, premium=False, signing=signing)
            gl.deliver = deliver
            result = await asyncio.to_thread(run, env, "connect", "--project", "acme/p10")
        assert result.exit_code == 0, result.output
        assert "test hook delivered" in result.output
        assert (await http.post("/webhooks/gitlab", content=PUSH, headers=stranger)).status_code == 401
