"""An app on the test database (worker and scheduler off), served over httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings, load_settings

from .helpers import GH_SECRET, GL_TOKEN, GL_WHSEC, LIMIT


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(
        database_url=db_url,
        github_webhook_secret=GH_SECRET,
        gitlab_webhook_secret=GL_TOKEN,
        gitlab_signing_secret=GL_WHSEC,
        gitlab_allow_unsigned=True,  # a migration: token-only and signed hooks both accepted
        max_body_bytes=LIMIT,
    )


@pytest.fixture
async def client(settings: Settings, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=engine, start_worker=False, start_scheduler=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot") as http,
    ):
        yield http
