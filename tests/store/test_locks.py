"""Repository locks: one sync per repository at a time, and nothing shared beyond the schema."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from conftest import _test_database_url
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store.db import make_engine
from bot.store.locks import repository_lock


@pytest.fixture
def two_schemas() -> Iterator[tuple[str, str]]:
    url = _test_database_url()
    if url is None:
        pytest.skip("PostgreSQL-only: advisory locks")
    admin = make_engine(url)
    names = [f"locks_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    urls = [
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={n}"})
        .render_as_string(hide_password=False)
        for n in names
    ]
    try:
        yield urls[0], urls[1]
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


async def test_the_same_repository_in_another_schema_does_not_wait(two_schemas) -> None:
    a, b = (make_engine(u) for u in two_schemas)
    try:
        async with repository_lock(a, 1):
            # another deployment's repository 1 (its own schema) is not ours: it must not block
            async with asyncio.timeout(10):
                async with repository_lock(b, 1):
                    pass
    finally:
        a.dispose()
        b.dispose()


async def test_the_same_repository_in_the_same_schema_waits_for_the_holder(two_schemas) -> None:
    url = two_schemas[0]
    one, other = make_engine(url), make_engine(url)  # two replicas: separate engines, one schema
    entered = asyncio.Event()
    order: list[str] = []

    async def second() -> None:
        async with repository_lock(other, 7):
            order.append("second")
        entered.set()

    try:
        async with repository_lock(one, 7):
            task = asyncio.create_task(second())
            with pytest.raises(TimeoutError):  # still held: the second replica cannot enter
                async with asyncio.timeout(1):
                    await asyncio.shield(entered.wait())
            order.append("first")
        async with asyncio.timeout(10):
            await task
        assert order == ["first", "second"]
    finally:
        one.dispose()
        other.dispose()
