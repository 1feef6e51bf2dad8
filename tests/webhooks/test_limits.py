"""The receiver's connection limits on a real server over raw sockets (issue 12 finding 9):
slow headers and bodies are cut off, oversized or too many headers refused before the app runs."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from sqlalchemy import Engine

from bot.app import create_app
from bot.cli.server import server_limits
from bot.config import Settings

Address = tuple[str, int]


@pytest.fixture
async def server(settings: Settings, engine: Engine) -> AsyncIterator[Address]:
    limited = settings.model_copy(
        update={
            "max_header_bytes": 8192,
            "max_headers": 50,
            "header_timeout_seconds": 0.5,
            "body_timeout_seconds": 0.5,
        }
    )
    app = create_app(limited, engine=engine, start_worker=False, start_scheduler=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, **server_limits(limited))
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    for _ in range(500):  # wait for readiness (bounded), not for an outcome
        if srv.started:
            break
        await asyncio.sleep(0.01)
    assert srv.started
    try:
        yield sock.getsockname()
    finally:
        srv.should_exit = True
        await task
        sock.close()


async def exchange(address: Address, data: bytes, *, limit: float = 10) -> tuple[bytes, float]:
    """Send `data`, then read until the server closes; (what it answered, seconds taken)."""
    reader, writer = await asyncio.open_connection(*address)
    started = time.monotonic()
    try:
        writer.write(data)
        await writer.drain()
    except ConnectionError:
        pass
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=limit)
    except ConnectionError:
        answer = b""
    writer.close()
    return answer, time.monotonic() - started


async def test_an_ordinary_request_is_served(server: Address) -> None:
    answer, _ = await exchange(server, b"GET /healthz HTTP/1.1\r\nhost: bot\r\nconnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


async def test_oversized_headers_are_refused_431(server: Address) -> None:
    big = b"".join(b"x-pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(20))  # ~20 KB > 8 KiB
    answer, _ = await exchange(server, b"POST /webhooks/github HTTP/1.1\r\nhost: bot\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


async def test_a_megabyte_of_unfinished_headers_is_refused_without_waiting_for_the_end(
    server: Address,
) -> None:
    answer, _ = await exchange(server, b"POST /webhooks/github HTTP/1.1\r\nx-long: " + b"a" * 1_000_000)
    assert answer.startswith(b"HTTP/1.1 431") or answer == b""  # refused (or reset while sending)


async def test_too_many_header_fields_are_refused_431(server: Address) -> None:
    many = b"".join(b"x-%d: 1\r\n" % i for i in range(60))
    answer, _ = await exchange(server, b"GET /healthz HTTP/1.1\r\nhost: bot\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


async def test_slow_headers_are_cut_off_at_the_deadline(server: Address) -> None:
    answer, took = await exchange(server, b"POST /webhooks/github HTTP/1.1\r\nhost: bot\r\n")
    assert answer.startswith(b"HTTP/1.1 408")
    assert took < 5


async def test_a_connection_that_sends_nothing_is_closed(server: Address) -> None:
    answer, took = await exchange(server, b"")
    assert answer.startswith(b"HTTP/1.1 408") and took < 5


async def test_a_slow_body_is_cut_off_at_the_deadline(server: Address) -> None:
    head = b"POST /webhooks/github HTTP/1.1\r\nhost: bot\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
    answer, took = await exchange(server, head + b'{"a":')
    assert answer.startswith(b"HTTP/1.1 408")
    assert took < 5
