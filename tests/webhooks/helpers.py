"""Signing and inspection helpers for webhook tests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.platforms.github.verify import github_signature
from bot.store.models import Delivery
from bot.webhooks.verify import standard_signature

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
GH_SECRET = "gh-test-secret-0123456789"
GL_TOKEN = "gl-test-token-0123456789"
GL_KEY = bytes(range(32, 64))
GL_WHSEC = "whsec_" + base64.b64encode(GL_KEY).decode()
LIMIT = 64 * 1024


def fixture_bytes(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


def github_headers(body: bytes, event: str = "push", delivery: str | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-hub-signature-256": github_signature(GH_SECRET, body),
        "user-agent": "GitHub-Hookshot/abc123",
    }


def gitlab_token_headers(event: str = "Push Hook", key: str | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-gitlab-event": event,
        "x-gitlab-token": GL_TOKEN,
        "idempotency-key": key or str(uuid.uuid4()),
        "x-gitlab-event-uuid": str(uuid.uuid4()),
    }


def gitlab_signed_headers(
    body: bytes, event: str = "Push Hook", msg_id: str | None = None, at: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or str(uuid.uuid4())
    stamp = str(int(time.time()) if at is None else at)
    return {
        "content-type": "application/json",
        "x-gitlab-event": event,
        "webhook-id": msg_id,
        "idempotency-key": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": standard_signature(GL_KEY, msg_id, stamp, body),
    }


def stored(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def dumps(payload: dict) -> bytes:
    return json.dumps(payload).encode()
