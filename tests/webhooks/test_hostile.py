"""Authentic but hostile or odd deliveries (issue 12, findings 6 and 7): each gets a 2xx answer
with a reason or is stored, never a 500; one that cannot be stored never takes others with it."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.app import check_webhook_settings, create_app
from bot.config import Settings, SettingsError, load_settings
from bot.core.events import Kind
from bot.webhooks.ingest import Ingestor, NewDelivery
from bot.webhooks.normalize import IGNORED_REASON, normalize

from .helpers import FIXTURES, dumps, github_headers, gitlab_signed_headers, gitlab_token_headers, stored


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / name).read_text())


PUSH = fixture("github", "push.with-new-branch.payload.json")


# ---------------------------------------------------------------- finding 6: ids beyond 64 bits


async def test_an_installation_id_beyond_64_bits_is_ignored_and_the_deliveries_beside_it_are_stored(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    bad = dumps({**PUSH, "installation": {"id": 2**63 + 7}})
    good = dumps(PUSH)
    responses = await asyncio.gather(
        client.post("/webhooks/github", content=bad, headers=github_headers(bad, delivery="bad")),
        *(
            client.post("/webhooks/github", content=good, headers=github_headers(good, delivery=f"g{i}"))
            for i in range(20)
        ),
    )
    assert responses[0].status_code == 200
    assert responses[0].json()["status"] == "ignored"
    assert "installation.id" in responses[0].json()["reason"]
    assert [r.status_code for r in responses[1:]] == [202] * 20
    assert sorted(d.delivery_id for d in stored(engine)) == sorted(f"g{i}" for i in range(20))


async def test_a_delivery_that_cannot_be_stored_fails_alone_in_its_group_commit(engine: Engine) -> None:
    def item(name: str, installation_id: int) -> NewDelivery:
        return NewDelivery("github", name, "push", None, installation_id, f"github:o/{name}", b"{}")

    ingestor = Ingestor(engine)
    await ingestor.start()
    try:
        results = await asyncio.gather(
            ingestor.submit(item("a", 1)),
            ingestor.submit(item("overflow", 2**63 + 1)),  # past the edge check: the column cannot hold it
            ingestor.submit(item("b", 2)),
            return_exceptions=True,
        )
    finally:
        await ingestor.stop()
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], Exception)
    assert sorted(d.delivery_id for d in stored(engine)) == ["a", "b"]


def test_ids_outside_64_bits_never_reach_the_event() -> None:
    payload = {**PUSH, "repository": {**PUSH["repository"], "id": 2**64 + 1}}
    event = normalize("github", "push", payload)
    assert event.kind is Kind.PUSH
    assert event.repo is not None and event.repo.id is None


# ---------------------------------------------------------------- finding 7: a total normaliser


@pytest.mark.parametrize(
    ("platform", "event", "payload"),
    [
        ("gitlab", "Job Hook", {**fixture("gitlab", "job.json"), "build_status": []}),
        ("gitlab", "Pipeline Hook", {**fixture("gitlab", "pipeline.json"), "builds": 5}),
        (
            "gitlab",
            "Pipeline Hook",
            {**fixture("gitlab", "pipeline.json"), "object_attributes": {"status": {}}},
        ),
        (
            "github",
            "check_run",
            {**fixture("github", "check_run.completed.payload.json"), "check_run": {"conclusion": []}},
        ),
    ],
    ids=[
        "job-build_status-list",
        "pipeline-builds-int",
        "pipeline-status-object",
        "check_run-conclusion-list",
    ],
)
def test_odd_ci_shapes_still_make_a_ci_event(platform: str, event: str, payload: dict[str, Any]) -> None:
    assert normalize(platform, event, payload).kind is Kind.CI


@pytest.mark.parametrize("installation", [5, "1", [1], {"id": "1"}, {"id": 2**63}])
def test_a_github_installation_that_is_not_a_usable_mapping_is_ignored_with_a_reason(
    installation: Any,
) -> None:
    event = normalize("github", "push", {**PUSH, "installation": installation})
    assert event.kind is Kind.IGNORED
    assert event.extra[IGNORED_REASON].startswith("installation")


async def test_odd_gitlab_hooks_are_answered_2xx(client: httpx.AsyncClient) -> None:
    for event, payload in [
        ("Job Hook", {**fixture("gitlab", "job.json"), "build_status": []}),
        ("Pipeline Hook", {**fixture("gitlab", "pipeline.json"), "builds": 5}),
    ]:
        body = dumps(payload)
        resp = await client.post("/webhooks/gitlab", content=body, headers=gitlab_token_headers(event))
        assert resp.status_code in (200, 202), (event, resp.status_code)


async def test_a_json_nesting_bomb_is_answered_200_ignored_with_a_reason(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = b'{"a":' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    resp = await client.post("/webhooks/github", content=body, headers=github_headers(body))
    assert resp.status_code == 200
    assert resp.json()["status"] == "ignored" and "nested" in resp.json()["reason"]
    assert stored(engine) == []


async def test_a_github_delivery_whose_installation_is_a_string_is_not_stored_as_work(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    body = dumps({**PUSH, "installation": "42"})
    resp = await client.post("/webhooks/github", content=body, headers=github_headers(body))
    assert (resp.status_code, resp.json()["status"]) == (200, "ignored")
    assert stored(engine) == []  # nothing for the worker to dead-letter as a bug


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "installation",
        "repository",
        "project",
        "object_attributes",
        "builds",
        "build_status",
        "issue",
        "comment",
        "sender",
        "user",
        "check_run",
        "workflow_run",
        "check_suite",
        "repositories_added",
        "repositories",
        "ref",
        "after",
        "changes",
        "action",
        "id",
        "full_name",
        "path_with_namespace",
    ]
)
payloads = st.dictionaries(
    KEYS | st.text(max_size=8), json_values | st.dictionaries(KEYS, json_values, max_size=5), max_size=8
)
EVENTS = st.sampled_from(
    [
        "push",
        "ping",
        "installation",
        "installation_repositories",
        "check_run",
        "check_suite",
        "workflow_run",
        "workflow_job",
        "issues",
        "issue_comment",
        "sub_issues",
        "Push Hook",
        "Tag Push Hook",
        "Issue Hook",
        "Note Hook",
        "Pipeline Hook",
        "Job Hook",
        "weird",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform=st.sampled_from(["github", "gitlab"]), event=EVENTS, payload=payloads)
def test_the_normaliser_is_total(platform: str, event: str, payload: dict[str, Any]) -> None:
    """For any JSON-ish payload it returns an event; ids in it always fit 64 bits."""
    result = normalize(platform, event, payload)
    ids = [result.installation_id, result.issue_number, result.comment_id, result.repo and result.repo.id]
    assert all(i is None or -(2**63) <= i < 2**63 for i in ids)
    if result.kind is Kind.IGNORED and IGNORED_REASON in result.extra:
        assert isinstance(result.extra[IGNORED_REASON], str)


# ---------------------------------------------------------------- findings 10 and 12: secrets


@pytest.mark.parametrize("name", ["github_webhook_secret", "gitlab_webhook_secret"])
@pytest.mark.parametrize("value", ["", "abc", "fifteen-bytes!!"])
def test_short_webhook_secrets_are_refused_at_start_with_one_line_naming_the_setting(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**{name: value})
    message = str(err.value)
    assert message.startswith(f"READINESS_{name.upper()}:") and "16 bytes" in message
    assert "\n" not in message and (not value or value not in message)


def test_a_short_gitlab_signing_key_is_refused_at_start(db_url: str) -> None:
    short = "whsec_" + base64.b64encode(b"0123456789").decode()
    with pytest.raises(SettingsError, match=r"^READINESS_GITLAB_SIGNING_SECRET: .*16 bytes"):
        create_app(load_settings(database_url=db_url, gitlab_signing_secret=short), start_worker=False)


async def test_with_a_signing_secret_a_token_only_gitlab_delivery_is_refused(
    settings: Settings, engine: Engine
) -> None:
    strict = settings.model_copy(update={"gitlab_allow_unsigned": False})
    app = create_app(strict, engine=engine, start_worker=False, start_scheduler=False)
    body = dumps(fixture("gitlab", "push.json"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        refused = await http.post("/webhooks/gitlab", content=body, headers=gitlab_token_headers())
        signed = await http.post("/webhooks/gitlab", content=body, headers=gitlab_signed_headers(body))
    assert (refused.status_code, signed.status_code) == (401, 202)
    assert [d.delivery_id for d in stored(engine)] == [signed.json()["delivery_id"]]


def test_allowing_unsigned_gitlab_hooks_is_announced_at_start(settings: Settings) -> None:
    assert any("READINESS_GITLAB_ALLOW_UNSIGNED=true" in w for w in check_webhook_settings(settings))
    strict = settings.model_copy(update={"gitlab_allow_unsigned": False})
    assert not any("ALLOW_UNSIGNED" in w for w in check_webhook_settings(strict))
