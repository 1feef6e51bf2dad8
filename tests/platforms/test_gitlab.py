"""GitLab adapter against a stateful fake GitLab (`responses`; python-gitlab uses requests)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest
import requests
import responses

from bot.config import Settings
from bot.platforms.gitlab import GitLabClient, GitLabRepo

from .contract import SPEC, PlatformContract, WorldSpec
from .gitlab_fake import BASE, FakeGitLab

GITLAB_SPEC = dataclasses.replace(SPEC, bot_login="readiness-bot")


class NoPacing:
    async def wait(self) -> None:
        return None


class FakeTime:
    """Clock and sleep for the adapter's worker threads: sleeping moves the clock, nothing waits."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class GitLabWorld:
    def __init__(self, fake: FakeGitLab, platform: GitLabRepo, time: FakeTime) -> None:
        self.fake, self.platform, self.spec, self.time = fake, platform, fake.spec, time

    def reactions(self) -> list[tuple[int, str]]:
        return self.fake.reactions()

    def checks(self) -> list[tuple[str, str, str]]:
        return self.fake.checks()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(time: FakeTime) -> GitLabClient:
    settings = Settings(gitlab_url=BASE, gitlab_token="glpat-test-token")
    return GitLabClient(
        settings, session=requests.Session(), clock=time.clock, sleep=time.sleep, pacer=NoPacing()
    )


async def build_world(
    rsps: responses.RequestsMock, spec: WorldSpec = GITLAB_SPEC
) -> AsyncIterator[GitLabWorld]:
    fake = FakeGitLab(spec, rsps)
    time = FakeTime()
    client = make_client(time)
    platform = await client.for_repo(spec.full_name)
    yield GitLabWorld(fake, platform, time)
    await client.aclose()


class TestGitLabContract(PlatformContract):
    @pytest.fixture
    async def world(self, rsps: responses.RequestsMock) -> AsyncIterator[GitLabWorld]:
        async for w in build_world(rsps):
            yield w
