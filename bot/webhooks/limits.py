"""Connection limits for the receiver: what uvicorn's httptools protocol does not bound itself.

uvicorn (with httptools) accepts headers of any size and count and waits for them forever, so a
client sending one byte a minute holds a connection, and 1 MB of headers is parsed and kept.
`limited_protocol` returns uvicorn's protocol class with three additions:

- a header deadline: the request line and headers must arrive within `header_timeout` seconds of
  the connection opening (or of the request's first byte on a kept-alive connection), else the
  connection is closed with 408;
- a header size and count limit: more than `max_header_bytes` (request line included) or more
  than `max_headers` fields is answered 431 and the connection closed, before the app runs.

The body's deadline is the receiver's (`bot.webhooks.routes.read_limited`); the number of
connections and tasks is uvicorn's `limit_concurrency` (503 beyond it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_RESPONSES = {
    408: b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
}


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a header deadline and header size/count limits (class attributes,
    set by `limited_protocol`)."""

    max_header_bytes = 32 * 1024
    max_headers = 100
    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._header_count = 0
        self._in_headers = True
        self._refused: int | None = None

    # --- the deadline

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self._in_headers and not self.transport.is_closing():
            self._refuse(408)

    def _refuse(self, status: int) -> None:
        self._refused = status
        self._disarm_header_timer()
        self.transport.write(_RESPONSES[status])
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    # --- the size limits

    def data_received(self, data: bytes) -> None:
        if self._refused is not None:
            return
        if self._in_headers:
            self._header_bytes += len(data)  # counts a header still arriving, too
        super().data_received(data)
        if self._refused is not None:  # on_headers_complete found the headers too large
            if not self.transport.is_closing():
                self._refuse(self._refused)
        elif self._in_headers and self._header_bytes > self.max_header_bytes:
            self._refuse(431)  # still no end of headers after more than the limit

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers, self._header_count = True, 0
        self._arm_header_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm_header_timer()
        size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.max_header_bytes or self._header_count > self.max_headers:
            self._refused = 431  # answered after this parse step; the app never runs
            return
        self._header_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refused is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused is None:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        self._header_bytes = 0
        super().on_response_complete()


def limited_protocol(
    *, max_header_bytes: int, max_headers: int, header_timeout: float
) -> type[HttpToolsProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with these limits."""
    return type(
        "ReadinessHttpProtocol",
        (LimitedHttpToolsProtocol,),
        {"max_header_bytes": max_header_bytes, "max_headers": max_headers, "header_timeout": header_timeout},
    )
