"""Webhook receiver benchmark: signed ~7.7 KB GitHub pushes over loopback, durably stored.

    .venv/bin/python bench/webhooks.py [--duration 10] [--rate 200] [--connections 64,256]
                                      [--databases sqlite,postgres] [--no-pin] [--httpx]

For each database (a fresh SQLite file; then a fresh PostgreSQL database `bench`, dropped and
recreated, never the test database) the script starts `readiness serve --no-worker
--no-scheduler` as a subprocess and drives it from a *separate* load-generator process (this
file with --load-generator, asyncio on uvloop, a pool of keep-alive connections):

- fixed rate: an open-loop schedule of `--rate` deliveries/s; latency is measured from each
  request's *scheduled* send time, so a stalled server cannot hide queueing delay;
- max rate: for each `--connections` count, that many closed-loop senders, back to back. Group
  commit needs concurrency: every request waits for a commit, so the batch size (and the rate)
  grows with the number of requests in flight.

It prints sustained deliveries/s and p50/p99 acknowledgement latency, then repeats with the
server pinned to one core (`taskset -c 0`) and the generator on another (`taskset -c 1`).
After each server stops (SIGTERM) it counts the stored rows: every acknowledged (202) delivery
must be there. The worker is off: this measures the front door (verify, parse, store, ack).

The default client writes HTTP/1.1 on asyncio streams. httpx's pool was the first choice, but
measured on this machine against a trivial uvicorn app it peaks near 800 requests/s with 1-8
connections and collapses with more (166/s at 32, 97/s at 64), and at a fixed 200/s a short
server stall makes its queue spiral; `--httpx` adds httpx rows for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/fixtures/webhooks/github/push.with-new-branch.payload.json"
SECRET = "bench-secret-not-for-production"
BODY_BYTES = 7700
VARIANTS = 256
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BENCH_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
READINESS = str(Path(sys.executable).with_name("readiness"))


# ------------------------------------------------------------------------- load generator


def make_bodies() -> list[tuple[bytes, str]]:
    """Distinct compact push payloads of ~7.7 KB, each with its signature."""
    base = json.loads(FIXTURE.read_text())
    out = []
    for i in range(VARIANTS):
        payload = dict(base, after=hashlib.sha1(str(i).encode()).hexdigest())
        payload["head_commit"] = dict(base["head_commit"] or {}, message="")
        raw = json.dumps(payload, separators=(",", ":"))
        payload["head_commit"]["message"] = "x" * max(0, BODY_BYTES - len(raw.encode()))
        body = json.dumps(payload, separators=(",", ":")).encode()
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        out.append((body, sig))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def request_headers(n: int, prefix: str, sig: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": f"{prefix}-{n}",
        "x-hub-signature-256": sig,
    }


class HttpxClient:
    """httpx's pooled AsyncClient (what the brief asks for)."""

    def __init__(self, url: str, connections: int, bodies: list[tuple[bytes, str]], prefix: str) -> None:
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=nodelay)
        self.client = httpx.AsyncClient(base_url=url, transport=transport, timeout=30)
        self.bodies, self.prefix, self.error = bodies, prefix, httpx.HTTPError

    async def post(self, n: int) -> str:
        body, sig = self.bodies[n % VARIANTS]
        try:
            resp = await self.client.post(
                "/webhooks/github", content=body, headers=request_headers(n, self.prefix, sig)
            )
        except self.error as exc:
            return type(exc).__name__
        return str(resp.status_code)

    async def close(self) -> None:
        await self.client.aclose()


class RawClient:
    """Keep-alive HTTP/1.1 over asyncio streams, one request in flight per connection. httpx
    tops out near 800 requests/s on one core here and degrades with more than ~8 connections,
    so it cannot show what the server does at its limit; this client costs a few microseconds."""

    def __init__(self, url: str, connections: int, bodies: list[tuple[bytes, str]], prefix: str) -> None:
        host_port = url.removeprefix("http://").rstrip("/")
        self.host, self.port = host_port.split(":")[0], int(host_port.split(":")[1])
        self.connections, self.bodies, self.prefix = connections, bodies, prefix
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.opened = 0

    async def post(self, n: int) -> str:
        if self.pool.empty() and self.opened < self.connections:
            self.opened += 1
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))
        reader, writer = await self.pool.get()
        body, sig = self.bodies[n % VARIANTS]
        head = "".join(f"{k}: {v}\r\n" for k, v in request_headers(n, self.prefix, sig).items())
        start = f"POST /webhooks/github HTTP/1.1\r\nhost: {self.host}\r\ncontent-length: {len(body)}\r\n"
        writer.write(f"{start}{head}\r\n".encode() + body)
        try:
            status = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in status.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.opened -= 1
            writer.close()
            return type(exc).__name__
        self.pool.put_nowait((reader, writer))
        return status[9:12].decode()

    async def close(self) -> None:
        while not self.pool.empty():
            _, writer = self.pool.get_nowait()
            writer.close()


async def generate(
    url: str, mode: str, client_kind: str, rate: float, duration: float, connections: int, prefix: str
) -> dict:
    bodies = make_bodies()
    kind = HttpxClient if client_kind == "httpx" else RawClient
    client = kind(url, connections, bodies, prefix)
    acked = 0
    errors: dict[str, int] = {}
    latencies: list[float] = []

    async def send(n: int, since: float, record: bool) -> None:
        nonlocal acked
        code = await client.post(n)
        if code == "202":
            acked += 1
            if record:
                latencies.append(time.perf_counter() - since)
        else:
            errors[code] = errors.get(code, 0) + 1

    # warm-up (connections, caches): counted for storage, not for the figures
    await asyncio.gather(*(send(i, time.perf_counter(), False) for i in range(min(connections, 50))))
    counter = 1000
    cpu_started = time.process_time()
    started = time.perf_counter()
    if mode == "fixed":  # open loop: latency from the scheduled send time
        tasks = []
        for i in range(int(rate * duration)):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(counter + i, scheduled, True)))
        await asyncio.gather(*tasks)
    else:  # closed loop: every connection sends back to back
        deadline = started + duration
        next_id = iter(range(counter, 10**9))

        async def sender() -> None:
            while time.perf_counter() < deadline:
                await send(next(next_id), time.perf_counter(), True)

        await asyncio.gather(*(sender() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cpu = (time.process_time() - cpu_started) / elapsed
    await client.close()
    return {
        "acked": acked,
        "measured": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": errors,
        "generator_cpu": cpu,
    }


# ------------------------------------------------------------------------------- driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres() -> str:
    import psycopg

    admin = PG_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench WITH (FORCE)")
        conn.execute("CREATE DATABASE bench")
    from bot.store.migrate import upgrade

    upgrade(PG_BENCH_URL)  # `readiness migrate`: PostgreSQL replicas never migrate by themselves
    return PG_BENCH_URL


def count_rows(url: str) -> int:
    from sqlalchemy import text

    from bot.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM deliveries")).scalar_one())
    finally:
        engine.dispose()


def start_server(url: str, port: int, pinned: bool, log_path: Path) -> subprocess.Popen:
    env = os.environ | {
        "READINESS_DATABASE_URL": url,
        "READINESS_GITHUB_WEBHOOK_SECRET": SECRET,
        "READINESS_LOG_FORMAT": "json",
    }
    cmd = [READINESS, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker", "--no-scheduler"]
    if pinned:
        cmd = ["taskset", "-c", "0", *cmd]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"), cwd=log_path.parent
    )
    import httpx

    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited early; see {log_path}:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not become healthy in 30 s")


def phases(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """(mode, client, connections): the fixed rate, then the max rate at each concurrency."""
    counts = [int(c) for c in args.connections.split(",")]
    out = [("fixed", "raw", counts[0])] + [("max", "raw", c) for c in counts]
    if args.httpx:
        out += [("fixed", "httpx", args.httpx_connections), ("max", "httpx", args.httpx_connections)]
    return out


def fsync_probe(directory: Path, count: int = 200) -> tuple[float, float]:
    """p50/p99 ms of an 8 KB write + fdatasync here: the floor under any durable acknowledgement."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    latencies = []
    try:
        for i in range(count):
            os.pwrite(fd, b"x" * 8192, i * 8192)
            started = time.perf_counter()
            os.fdatasync(fd)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.005)  # the pace of 200 deliveries/s
    finally:
        os.close(fd)
        path.unlink()
    return percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_generator(
    port: int, phase: tuple[str, str, int], args: argparse.Namespace, pinned: bool, prefix: str
) -> dict:
    mode, client, connections = phase
    cmd = [
        sys.executable, __file__, "--load-generator", "--url", f"http://127.0.0.1:{port}", "--mode", mode,
        "--client", client, "--rate", str(args.rate), "--duration", str(args.duration),
        "--connections", str(connections), "--prefix", prefix,
    ]  # fmt: skip
    if pinned:
        cmd = ["taskset", "-c", "1", *cmd]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def bench_one(db: str, pinned: bool, args: argparse.Namespace, workdir: Path) -> list[str]:
    url = f"sqlite:///{workdir / f'bench-{int(pinned)}.db'}" if db == "sqlite" else fresh_postgres()
    port = free_port()
    server = start_server(url, port, pinned, workdir / f"server-{db}-{int(pinned)}.log")
    results = []
    try:
        for i, phase in enumerate(phases(args)):
            cpu, wall = cpu_seconds(server.pid), time.perf_counter()
            result = run_generator(port, phase, args, pinned, f"{db}-{int(pinned)}-{i}")
            result["server_cpu"] = (cpu_seconds(server.pid) - cpu) / (time.perf_counter() - wall)
            results.append((phase, result))
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: commits everything acknowledged
        server.wait(timeout=60)
    stored = count_rows(url)
    acked = sum(r["acked"] for _, r in results)
    where = "server on 1 core" if pinned else "unpinned (2 cores)"
    rows = []
    for (mode, client, connections), r in results:
        label = f"{args.rate:.0f}/s" if mode == "fixed" else "max"
        label += f" {client}x{connections}"
        errs = f"  errors={r['errors']}" if r["errors"] else ""
        per = r["server_cpu"] / max(r["rate"], 1e-9) * 1e6  # server CPU microseconds per delivery
        figures = (
            f"{r['rate']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['server_cpu']:>7.0%} {per:>7.0f}"
        )
        figures += f" {r['generator_cpu']:>7.0%}"
        rows.append(f"{db:<9} {where:<19} {label:<16} {figures}{errs}")
    check = "OK" if stored == acked else "MISMATCH"
    rows.append(f"{'':<9} {'':<19} stored rows {stored} / acknowledged {acked}: {check}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument(
        "--connections", default="64,256", help="keep-alive connections of the raw client, one max run each"
    )
    parser.add_argument("--httpx", action="store_true", help="also drive the server with httpx's pool")
    parser.add_argument("--httpx-connections", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--no-pin", action="store_true", help="skip the one-core runs")
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("fixed", "max"), help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="d", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=("httpx", "raw"), default="raw", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.load_generator:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        result = asyncio.run(
            generate(
                args.url, args.mode, args.client, args.rate, args.duration, int(args.connections), args.prefix
            )
        )
        print(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    body_size = len(make_bodies()[0][0])
    print(f"signed GitHub pushes of {body_size} bytes, {args.duration:.0f} s per phase, loopback HTTP/1.1")
    print(
        f"load average before: {os.getloadavg()[0]:.2f} (other processes share these {os.cpu_count()} cores)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="readiness-bench-"))
    failed = False
    try:
        p50, p99 = fsync_probe(workdir)
        print(
            f"disk: 8 KB write + fdatasync p50 {p50:.2f} ms, p99 {p99:.2f} ms (the floor for a durable ack)"
        )
        heads = f"{'deliv/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'srv CPU':>8} {'us/del':>7} {'gen CPU':>7}"
        print(f"{'database':<9} {'server':<19} {'load':<16} {heads}")
        for db in args.databases.split(","):
            for pinned in (False, True) if not args.no_pin else (False,):
                for line in bench_one(db, pinned, args, workdir):
                    print(line, flush=True)
                    failed |= "MISMATCH" in line
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
