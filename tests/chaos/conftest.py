"""Fixtures for the Faults suite: one RSA App key per session (key generation is slow)."""

from __future__ import annotations

import pytest
from platforms.fake_github import app_key_pair


@pytest.fixture(scope="session")
def rsa_pair() -> tuple[str, str]:
    return app_key_pair()
