"""A fake GitHub for bench/load.py: an HTTP server (uvicorn) answering for many repositories
with GitHub's real JSON shapes and a realistic latency per request.

Each repository `octo-org/service-N` is the stateful fake of the platform tests
(tests/platforms/fake_github.py), created on first use, with the same files and a green CI run;
every commit sha a push names shows those files (the bench measures the bot, not git). Any
installation id gets tokens. Unknown routes answer 404 and are counted (GET /_stats).

Run by bench/load.py: `python bench/load_github.py PORT PUBLIC_KEY_FILE [LATENCY_MS]`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chaos.story import CONFIG, TEMPLATE, TEMPLATE_PATH  # noqa: E402
from platforms.contract import SPEC, SeedIssue  # noqa: E402
from platforms.fake_github import FakeGitHub, _error  # noqa: E402

from bot.core.snapshot import SUCCESS, CIResult  # noqa: E402

API_PATH = "/api/v3"
FILES = {
    ".readiness.yml": CONFIG.encode(),
    TEMPLATE_PATH: TEMPLATE.encode(),
    "README.md": b"# service\n",
    "Dockerfile": b"FROM python:3.11\n",
    "src/app.py": b"print('hello')\n",
}


class _AnyCommit(dict):
    """Every sha a push names is a commit with the repository's files."""

    def __init__(self, fake: FakeGitHub) -> None:
        super().__init__()
        self.fake = fake

    def get(self, key: Any, default: Any = None) -> Any:
        return self.fake.root


class RepoFake(FakeGitHub):
    def h_token(self, request: httpx.Request, iid: str) -> httpx.Response:  # any installation
        response = super().h_token(request, str(self.installation_id))
        self.shared_tokens.add(response.json()["token"])
        return response


class World:
    def __init__(self, public_key: str, latency_ms: float) -> None:
        self.public_key, self.latency = public_key, latency_ms / 1000
        self.repos: dict[str, RepoFake] = {}
        self.tokens: set[str] = set()
        self.requests = 0
        self.unknown: dict[str, int] = {}

    def repo(self, name: str) -> RepoFake | None:
        if not re.fullmatch(r"service-\d+", name):
            return None
        if name not in self.repos:
            spec = dataclasses.replace(
                SPEC,
                full_name=f"octo-org/{name}",
                files=FILES,
                ci=(CIResult("tests", SUCCESS),),
                labels=(),
                comments=(),
                issues=(SeedIssue(1, "Bug: widgets are square", "They should be round.", "hubot"),),
            )
            fake = RepoFake(spec, "http://github.test" + API_PATH, public_key=self.public_key)
            fake.installation_id = 4242
            fake.shared_tokens = self.tokens
            fake.tokens = self.tokens
            fake.commits = _AnyCommit(fake)
            self.repos[name] = fake
        return self.repos[name]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path.removeprefix(API_PATH)
        if m := re.match(r"/repos/[^/]+/([^/]+)", path):
            fake = self.repo(m.group(1))
        elif path == "/graphql" or request.url.path == "/api/graphql":
            name = (json.loads(request.content).get("variables") or {}).get("name", "")
            fake = self.repo(name)
        else:  # /app, /app/installations/…: any repository's fake answers for the App
            fake = self.repo("service-0")
        if fake is None:
            return _error(404, "Not Found")
        response = fake(request)
        if response.status_code == 404 and not any(
            m == request.method and rx.match(path if path != "/api/graphql" else "/graphql")
            for m, rx, _ in fake.routes
        ):
            key = f"{request.method} {path}"
            self.unknown[key] = self.unknown.get(key, 0) + 1
        return response


def asgi(world: World) -> Any:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/_stats":
            payload = json.dumps(
                {"requests": world.requests, "repos": len(world.repos), "unknown": world.unknown}
            )
            response = httpx.Response(200, content=payload.encode())
        else:
            await asyncio.sleep(world.latency * random.uniform(0.5, 1.5))  # nosec B311
            query = scope.get("query_string", b"").decode()
            url = f"http://github.test{scope['path']}" + (f"?{query}" if query else "")
            headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
            response = world.handle(httpx.Request(scope["method"], url, headers=headers, content=body))
        headers = [
            (k.encode(), v.encode()) for k, v in response.headers.items() if k.lower() != "content-length"
        ]
        content = response.content
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def main() -> None:
    import uvicorn

    port, key_file = int(sys.argv[1]), Path(sys.argv[2])
    latency = float(sys.argv[3]) if len(sys.argv) > 3 else 40.0
    world = World(key_file.read_text(), latency)
    uvicorn.run(asgi(world), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
