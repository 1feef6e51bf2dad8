"""The receiver over HTTP: what GitHub and GitLab see, and what ends up stored."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import Engine

from bot.platforms.github.verify import github_signature

from .helpers import (
    GH_SECRET,
    LIMIT,
    dumps,
    fixture_bytes,
    github_headers,
    gitlab_signed_headers,
    gitlab_token_headers,
    stored,
)

PUSH = fixture_bytes("github", "push.with-new-branch.payload.json")


async def test_github_push_is_stored_and_acknowledged(client: httpx.AsyncClient, engine: Engine) -> None:
    resp = await client.post("/webhooks/github", content=PUSH, headers=github_headers(PUSH, delivery="d-1"))
    assert resp.status_code == 202
    assert resp.json() == {"status": "accepted", "delivery_id": "d-1"}
    [row] = stored(engine)
    assert (row.platform, row.delivery_id, row.event, row.status) == ("github", "d-1", "push", "pending")
    assert (row.installation_id, row.repo_key) == (1, "github:Codertocat/Hello-World")
    assert row.payload == PUSH  # the raw bytes, not re-serialised


async def test_redelivery_gets_200_and_no_new_work(client: httpx.AsyncClient, engine: Engine) -> None:
    headers = github_headers(PUSH, delivery="same-guid")
    first = await client.post("/webhooks/github", content=PUSH, headers=headers)
    again = await client.post("/webhooks/github", content=PUSH, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    assert len(stored(engine)) == 1


async def test_identical_deliveries_at_the_same_moment_make_one_job(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    headers = github_headers(PUSH, delivery="racing-guid")
    responses = await asyncio.gather(
        *(client.post("/webhooks/github", content=PUSH, headers=headers) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 202]
    assert [r.delivery_id for r in stored(engine)] == ["racing-guid"]


async def test_concurrent_distinct_deliveries_are_all_stored(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/webhooks/github", content=PUSH, headers=github_headers(PUSH, delivery=f"g-{i}"))
            for i in range(40)
        )
    )
    assert {r.status_code for r in responses} == {202}
    assert sorted(r.delivery_id for r in stored(engine)) == sorted(f"g-{i}" for i in range(40))


async def test_bad_signatures_get_401_and_store_nothing(client: httpx.AsyncClient, engine: Engine) -> None:
    good = github_headers(PUSH)
    tampered = PUSH.replace(b"Codertocat", b"Codertocan", 1)
    sha1_only = {k: v for k, v in good.items() if k != "x-hub-signature-256"} | {"x-hub-signature": "sha1=00"}
    cases = [
        (tampered, good),
        (PUSH, {k: v for k, v in good.items() if k != "x-hub-signature-256"}),
        (PUSH, sha1_only),
        (PUSH, good | {"x-hub-signature-256": github_signature("wrong secret", PUSH)}),
    ]
    for body, headers in cases:
        resp = await client.post("/webhooks/github", content=body, headers=headers)
        assert resp.status_code == 401, resp.text
        assert GH_SECRET not in resp.text
    assert stored(engine) == []


async def test_ping_is_answered_and_not_stored(client: httpx.AsyncClient, engine: Engine) -> None:
    body = dumps({"zen": "Design for failure.", "hook_id": 1})
    resp = await client.post("/webhooks/github", content=body, headers=github_headers(body, event="ping"))
    assert resp.status_code == 200 and resp.json()["status"] == "pong"
    assert stored(engine) == []


async def test_malformed_json_and_missing_headers_get_400(client: httpx.AsyncClient, engine: Engine) -> None:
    for body in (b'{"ref": "refs/heads/main"', b"[1, 2]", b"\xff\xfe"):
        resp = await client.post("/webhooks/github", content=body, headers=github_headers(body))
        assert resp.status_code == 400, body
    headers = github_headers(PUSH)
    del headers["x-github-delivery"]
    assert (await client.post("/webhooks/github", content=PUSH, headers=headers)).status_code == 400
    assert stored(engine) == []


async def test_oversized_body_gets_413(client: httpx.AsyncClient, engine: Engine) -> None:
    body = b"{" + b" " * LIMIT + b"}"
    resp = await client.post("/webhooks/github", content=body, headers=github_headers(body))
    assert resp.status_code == 413
    assert stored(engine) == []


async def test_oversized_stream_is_not_read_whole(client: httpx.AsyncClient, engine: Engine) -> None:
    chunk = b" " * 1024
    sent = 0

    async def endless() -> AsyncIterator[bytes]:  # would be 100 MiB if fully consumed
        nonlocal sent
        for _ in range(100 * 1024):
            sent += 1
            yield chunk

    headers = github_headers(b"irrelevant")
    resp = await client.post("/webhooks/github", content=endless(), headers=headers)
    assert resp.status_code == 413
    assert sent <= LIMIT // len(chunk) + 2  # stopped right after crossing the limit
    assert stored(engine) == []


async def test_unhandled_github_event_is_acknowledged_without_work(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = dumps({"action": "started", "repository": {"full_name": "o/r"}, "sender": {"login": "a"}})
    resp = await client.post("/webhooks/github", content=body, headers=github_headers(body, event="watch"))
    assert resp.status_code == 200 and resp.json()["status"] == "ignored"
    assert stored(engine) == []


async def test_installation_event_is_keyed_by_installation(client: httpx.AsyncClient, engine: Engine) -> None:
    body = fixture_bytes("github", "installation.created.payload.json")
    resp = await client.post(
        "/webhooks/github", content=body, headers=github_headers(body, "installation", "i-1")
    )
    assert resp.status_code == 202
    [row] = stored(engine)
    assert (row.event, row.action, row.installation_id, row.repo_key) == (
        "installation",
        "created",
        957387,
        "github:installation:957387",
    )


GL_PUSH = fixture_bytes("gitlab", "push.json")


async def test_gitlab_token_right_and_wrong(client: httpx.AsyncClient, engine: Engine) -> None:
    ok = await client.post("/webhooks/gitlab", content=GL_PUSH, headers=gitlab_token_headers(key="k-1"))
    bad = await client.post(
        "/webhooks/gitlab", content=GL_PUSH, headers=gitlab_token_headers() | {"x-gitlab-token": "guess"}
    )
    assert (ok.status_code, bad.status_code) == (202, 401)
    [row] = stored(engine)
    assert (row.platform, row.delivery_id, row.event, row.repo_key) == (
        "gitlab",
        "k-1",
        "Push Hook",
        "gitlab:mike/diaspora",
    )


async def test_gitlab_signed_right_wrong_and_stale(client: httpx.AsyncClient, engine: Engine) -> None:
    ok = await client.post(
        "/webhooks/gitlab", content=GL_PUSH, headers=gitlab_signed_headers(GL_PUSH, msg_id="m-1")
    )
    assert ok.status_code == 202
    wrong = gitlab_signed_headers(GL_PUSH) | {
        "webhook-signature": gitlab_signed_headers(b"other")["webhook-signature"]
    }
    stale = gitlab_signed_headers(GL_PUSH, at=int(time.time()) - 3600)
    future = gitlab_signed_headers(GL_PUSH, at=int(time.time()) + 3600)
    for headers in (wrong, stale, future):
        resp = await client.post("/webhooks/gitlab", content=GL_PUSH, headers=headers)
        assert resp.status_code == 401
    assert [r.delivery_id for r in stored(engine)] == ["m-1"]


async def test_gitlab_dedupes_on_webhook_id_then_idempotency_key_then_event_uuid(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    retry_a = gitlab_token_headers(key="same-key")
    retry_b = gitlab_token_headers(key="same-key")  # a retry: new event UUID, same Idempotency-Key
    only_uuid = {k: v for k, v in gitlab_token_headers().items() if k != "idempotency-key"}
    codes = [
        (await client.post("/webhooks/gitlab", content=GL_PUSH, headers=h)).status_code
        for h in (retry_a, retry_b, only_uuid, only_uuid)
    ]
    assert codes == [202, 200, 202, 200]
    assert sorted(r.delivery_id for r in stored(engine)) == sorted(
        ["same-key", only_uuid["x-gitlab-event-uuid"]]
    )


async def test_gitlab_unhandled_but_authentic_events_get_2xx(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    mr = fixture_bytes("gitlab", "merge_request.json")
    note = fixture_bytes("gitlab", "note_commit.json")
    wiki = dumps({"object_kind": "wiki_page", "project": {"path_with_namespace": "g/p"}})
    for body, event in ((mr, "Merge Request Hook"), (note, "Note Hook"), (wiki, "Wiki Page Hook")):
        resp = await client.post("/webhooks/gitlab", content=body, headers=gitlab_signed_headers(body, event))
        assert resp.status_code == 200 and resp.json()["status"] == "ignored"
    assert stored(engine) == []


async def test_gitlab_handled_fixtures_are_accepted(client: httpx.AsyncClient, engine: Engine) -> None:
    events = {
        "issue.json": "Issue Hook",
        "note_issue.json": "Note Hook",
        "pipeline.json": "Pipeline Hook",
        "job.json": "Job Hook",
    }
    for name, event in events.items():
        body = fixture_bytes("gitlab", name)
        resp = await client.post("/webhooks/gitlab", content=body, headers=gitlab_token_headers(event))
        assert resp.status_code == 202, name
    assert sorted(r.event for r in stored(engine)) == sorted(events.values())


async def test_without_configured_secrets_everything_is_refused(db_url: str, engine: Engine) -> None:
    from bot.app import create_app
    from bot.config import load_settings

    app = create_app(
        load_settings(database_url=db_url), engine=engine, start_worker=False, start_scheduler=False
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        gh = await http.post("/webhooks/github", content=PUSH, headers=github_headers(PUSH))
        gl = await http.post("/webhooks/gitlab", content=GL_PUSH, headers=gitlab_token_headers())
    assert (gh.status_code, gl.status_code) == (401, 401)
    assert "no GitHub webhook secret" in json.loads(gh.text)["detail"]
    assert stored(engine) == []


async def test_other_methods_on_webhook_paths_get_405(client: httpx.AsyncClient) -> None:
    assert (await client.get("/webhooks/github")).status_code == 405
    assert (await client.post("/webhooks/bitbucket", content=b"{}")).status_code == 404


async def test_valid_json_beyond_64_bit_integers_is_accepted(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = PUSH.replace(b'"size": 0', b'"size": 123456789012345678901234567890', 1)
    assert body != PUSH
    resp = await client.post("/webhooks/github", content=body, headers=github_headers(body))
    assert resp.status_code == 202
    assert stored(engine)[0].payload == body


async def test_a_storage_failure_is_503_never_202(client: httpx.AsyncClient, engine: Engine) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE deliveries RENAME TO deliveries_away"))
    try:
        resp = await client.post(
            "/webhooks/github", content=PUSH, headers=github_headers(PUSH, delivery="lost")
        )
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE deliveries_away RENAME TO deliveries"))
    assert resp.status_code == 503
    assert resp.json() == {"status": "unavailable", "detail": "could not store the delivery"}
    again = await client.post("/webhooks/github", content=PUSH, headers=github_headers(PUSH, delivery="lost"))
    assert again.status_code == 202  # the sender's retry is stored once the database is back
