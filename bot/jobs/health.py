"""The worker's own small HTTP server: `/healthz`, `/readyz` and `/metrics`, 404 elsewhere.

A split worker (`readiness worker --metrics-port N`) has no web app, yet Kubernetes needs probes
that mean something: liveness fails when the worker loop has stopped turning (a hung event loop
is restarted, a busy one is not: jobs run as tasks beside the loop), readiness fails while the
database is unreachable, the schema is not current, or the worker is stopping. It runs in daemon
threads (the standard library's WSGI server), so a slow scrape never blocks the jobs.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from bot.store.migrate import database_problem as database_problem  # the worker's /readyz

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Heartbeat:
    """Beaten by the worker loop on every turn; `age()` says how long ago that last happened."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()
        self.stopping = False
        self.starting = False  # set by `readiness worker` until its loop runs: not ready yet

    def beat(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        return self._clock() - self._last


def health_app(heartbeat: Heartbeat, ready: Callable[[], str | None], *, max_beat_age: float) -> WSGIApp:
    """WSGI app for the three paths; `ready` returns None or the reason the worker is not ready."""
    metrics = make_wsgi_app()

    def reply(start: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
        data = json.dumps(body).encode()
        start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/metrics":
            return metrics(environ, start)
        if path not in ("/healthz", "/readyz"):
            return reply(start, "404 Not Found", {"status": "not found", "path": path})
        if method not in ("GET", "HEAD"):
            return reply(start, "405 Method Not Allowed", {"status": "method not allowed"})
        if path == "/healthz":
            age = heartbeat.age()
            if age > max_beat_age:
                return reply(
                    start,
                    "503 Service Unavailable",
                    {"status": "unhealthy", "reason": f"worker loop silent for {age:.0f}s"},
                )
            return reply(start, "200 OK", {"status": "ok"})
        reason = "shutting down" if heartbeat.stopping else "starting" if heartbeat.starting else ready()
        if reason:
            return reply(start, "503 Service Unavailable", {"status": "unavailable", "reason": reason})
        return reply(start, "200 OK", {"status": "ready"})

    return app


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: no access log
        pass


def serve(host: str, port: int, app: WSGIApp) -> tuple[WSGIServer, threading.Thread]:
    """Start serving `app` in a daemon thread; raises OSError when the address is taken."""
    server = make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="worker-health", daemon=True)
    thread.start()
    return server, thread
