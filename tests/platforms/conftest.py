"""Fixtures for platform adapter tests: a fake clock that never really sleeps, an RSA app key."""

from __future__ import annotations

import asyncio

import pytest
import respx

from bot.config import Settings, load_settings
from bot.platforms.github.client import GitHubClient, GitHubRepo
from bot.platforms.github.settings import GitHubSettings

from .contract import SPEC
from .fake_github import APP_ID, INSTALLATION_ID, FakeGitHub, app_key_pair


class FakeClock:
    """Epoch seconds that only move when someone sleeps (or a test calls `advance`)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still let other tasks run


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def rsa_key() -> tuple[str, str]:
    return app_key_pair()


# ------------------------------------------------ GitHub: GHES base URL, fake server, client

GHES = "https://github.test/api/v3"


@pytest.fixture
def settings(rsa_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("READINESS_GITHUB_API_URL", GHES)
    monkeypatch.setenv("READINESS_GITHUB_APP_ID", str(APP_ID))
    monkeypatch.setenv("READINESS_GITHUB_PRIVATE_KEY", rsa_key[0])
    return load_settings()


@pytest.fixture
def fake(settings: Settings, rsa_key: tuple[str, str], clock: FakeClock) -> FakeGitHub:
    return FakeGitHub(
        SPEC, settings.platform(GitHubSettings).github_api_url, public_key=rsa_key[1], now=clock
    )


@pytest.fixture
def router(settings: Settings, fake: FakeGitHub):
    with respx.mock(base_url=fake.host, assert_all_called=False) as mock:
        mock.route().mock(side_effect=fake)
        yield mock


@pytest.fixture
async def client(settings: Settings, clock: FakeClock, router: respx.MockRouter):
    c = GitHubClient(settings, clock=clock, sleep=clock.sleep, http_cache=False)
    yield c
    await c.aclose()


@pytest.fixture
async def repo(client: GitHubClient) -> GitHubRepo:
    return await client.for_repo(SPEC.full_name, installation_id=INSTALLATION_ID)
