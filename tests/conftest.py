"""Shared fixtures. Database fixtures honour READINESS_TEST_DATABASE_URL (PostgreSQL in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
WEBHOOK_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "webhooks"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
