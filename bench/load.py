"""Load and soak: signed deliveries for 1,000 repositories at a steady rate, through the real
processes, on PostgreSQL, against a fake GitHub with realistic latency.

    .venv/bin/python bench/load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test_NAME
                                   [--rate 500] [--seconds 60] [--workers 2] [--latency-ms 40]
    .venv/bin/python bench/load.py --db URL --minutes 30 --rate 50     # soak

Starts, as real processes and as deploy/ runs them: the fake GitHub (bench/load_github.py,
uvicorn), the receiver `readiness serve --no-worker --no-scheduler` and `--workers` separate
`readiness worker` processes (a worker in the receiver's process would share its event loop,
and every job's CPU would be added to the acknowledgement latency), all on
a private schema of --db (dropped at the end; the bot's connections carry their own
application_name, so only they are counted). Then sends an open-loop mix (60% pushes, 25% CI
completions, 15% issue comments without a command) spread over 1,000 repositories in 100
installations, and waits for the queue to drain. Prints acknowledgement latency (p50, p99, from
each request's scheduled send time), processing throughput, drain time, errors (non-2xx,
dead-lettered deliveries, unknown GitHub routes) and the bot's peak RSS; soak mode prints RSS,
open database connections and file descriptors of the bot's processes every 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))  # before tests/: bench/webhooks.py, not tests/webhooks

from platforms.fake_github import APP_ID, app_key_pair  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from webhooks import RawClient, free_port, percentile  # noqa: E402

from bot.platforms.github.verify import github_signature  # noqa: E402
from bot.store.db import make_engine, normalize_url  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402

SECRET = "load-bench-secret-0123456789abcdef"
REPOS = 1000
PER_INSTALLATION = 10
FIXTURES = ROOT / "tests" / "fixtures" / "webhooks" / "github"
READINESS = str(Path(sys.executable).with_name("readiness"))
APP_NAME = f"readiness-load-{os.getpid()}"


# ------------------------------------------------------------------------------ deliveries


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def bodies(n: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """`n` deliveries: (event, body) for random repositories, each push moving its branch on."""
    push, run, comment = (
        _fixture("push.with-new-branch.payload.json"),
        _fixture("check_run.completed.payload.json"),
        _fixture("issue_comment.created.with-installation.payload.json"),
    )
    heads: dict[int, str] = {}
    out = []
    for i in range(n):
        r = rng.randrange(REPOS)
        repo = dict(
            push["repository"],
            full_name=f"octo-org/service-{r}",
            name=f"service-{r}",
            id=10_000 + r,
            default_branch="main",
        )
        common = {"repository": repo, "installation": {"id": 5000 + r // PER_INSTALLATION}}
        roll = rng.random()
        if roll < 0.6:
            after = uuid.uuid4().hex + "00000000"
            p = dict(
                push,
                ref="refs/heads/main",
                before=heads.get(r, "0" * 40),
                after=after,
                created=False,
                **common,
            )
            heads[r] = after
            out.append(("push", json.dumps(p).encode()))
        elif roll < 0.85:
            head = heads.get(r, uuid.uuid4().hex + "00000000")
            check = dict(
                run["check_run"], name="tests", head_sha=head, conclusion="success", status="completed"
            )
            check["check_suite"] = dict(check["check_suite"], head_sha=head, head_branch="main")
            out.append(("check_run", json.dumps(dict(run, check_run=check, **common)).encode()))
        else:
            c = dict(comment["comment"], id=9_000_000 + i, body="Thanks, looks good to me.")
            out.append(("issue_comment", json.dumps(dict(comment, comment=c, **common)).encode()))
    return out


class MixClient(RawClient):
    """bench/webhooks.py's keep-alive client, sending a prepared mix of events."""

    def __init__(self, url: str, connections: int, mix: list[tuple[str, bytes]]) -> None:
        super().__init__(url, connections, [], "load")
        self.mix = mix

    async def post(self, n: int) -> str:
        if self.pool.empty() and self.opened < self.connections:
            self.opened += 1
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))
        reader, writer = await self.pool.get()
        event, body = self.mix[n]
        head = (
            f"POST /webhooks/github HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nx-github-event: {event}\r\nx-github-delivery: load-{n}\r\n"
            f"x-hub-signature-256: {github_signature(SECRET, body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        try:
            status = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line[15:]) for line in status.split(b"\r\n") if line[:15].lower() == b"content-length:"),
                0,
            )
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.opened -= 1
            writer.close()
            return type(exc).__name__
        self.pool.put_nowait((reader, writer))
        return status[9:12].decode()


async def send_steady(url: str, mix: list[tuple[str, bytes]], rate: float) -> dict:
    client = MixClient(url, 256, mix)
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def one(n: int, scheduled: float) -> None:
        code = await client.post(n)
        if code in ("200", "202"):
            latencies.append(time.perf_counter() - scheduled)
        else:
            errors[code] = errors.get(code, 0) + 1

    started = time.perf_counter()
    tasks = []
    for i in range(len(mix)):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await client.close()
    return {"sent": len(mix), "elapsed": elapsed, "latencies": latencies, "errors": errors}


# -------------------------------------------------------------------------------- processes


def wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[:3]} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer in 120 s")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc; 0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class Bot:
    def __init__(self, db: str, workers: int, concurrency: int, latency_ms: float, workdir: Path) -> None:
        private, public = app_key_pair()
        (workdir / "key.pem").write_text(private)
        (workdir / "pub.pem").write_text(public)
        self.github_port, self.port = free_port(), free_port()
        self.procs: list[subprocess.Popen] = []
        log = workdir / "github.log"
        self.github = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "load_github.py"),
                str(self.github_port),
                str(workdir / "pub.pem"),
                str(latency_ms),
            ],
            stderr=log.open("wb"),
            stdout=subprocess.DEVNULL,
        )
        wait_healthy(f"http://127.0.0.1:{self.github_port}/_stats", self.github, log)
        env = os.environ | {
            "READINESS_DATABASE_URL": db,
            "READINESS_GITHUB_WEBHOOK_SECRET": SECRET,
            "READINESS_GITHUB_APP_ID": str(APP_ID),
            "READINESS_GITHUB_PRIVATE_KEY_FILE": str(workdir / "key.pem"),
            "READINESS_GITHUB_API_URL": f"http://127.0.0.1:{self.github_port}/api/v3",
            "READINESS_GITHUB_BOT_LOGIN": "readiness-bot[bot]",
            "READINESS_LOG_LEVEL": "WARNING",
            "READINESS_WORKER_CONCURRENCY": str(concurrency),
            "READINESS_SYNC_SETTLE_SECONDS": "0",
        }
        serve_log = workdir / "serve.log"
        serve = [READINESS, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        serve += ["--no-worker", "--no-scheduler"]
        self.procs.append(
            subprocess.Popen(serve, env=env, stderr=serve_log.open("wb"), stdout=subprocess.DEVNULL)
        )
        wait_healthy(f"http://127.0.0.1:{self.port}/healthz", self.procs[0], serve_log)
        ready = []
        for i in range(workers):
            wlog, metrics = workdir / f"worker-{i}.log", free_port()
            command = [READINESS, "worker", "--metrics-port", str(metrics)]
            self.procs.append(
                subprocess.Popen(command, env=env, stderr=wlog.open("wb"), stdout=subprocess.DEVNULL)
            )
            ready.append((f"http://127.0.0.1:{metrics}/readyz", self.procs[-1], wlog))
        for url, proc, wlog in ready:  # the clock starts once every worker's loop runs
            wait_healthy(url, proc, wlog)

    def rss(self) -> float:
        return sum(rss_mb(p.pid) for p in self.procs)

    def fds(self) -> int:
        return sum(fds(p.pid) for p in self.procs)

    def cpu(self) -> list[float]:
        """CPU seconds so far of `serve` (the receiver), then of each worker."""
        return [cpu_seconds(p.pid) for p in self.procs]

    def github_stats(self) -> dict:
        return httpx.get(f"http://127.0.0.1:{self.github_port}/_stats", timeout=5).json()

    def stop(self) -> None:
        for p in [*self.procs, self.github]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in [*self.procs, self.github]:
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()


def queue(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status")).all()
    return {s: int(n) for s, n in rows}


def connections(engine, schema_db: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"), {"a": APP_NAME}
            ).scalar_one()
        )


# ------------------------------------------------------------------------------------ main


async def run(args: argparse.Namespace, db: str, monitor_engine) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="readiness-load-"))
    bot = Bot(db, args.workers, args.concurrency, args.latency_ms, workdir)
    peak = bot.rss()
    try:
        seconds = args.minutes * 60 if args.minutes else args.seconds
        mix = bodies(int(args.rate * seconds), random.Random(1))
        url = f"http://127.0.0.1:{bot.port}"
        cpu_start = bot.cpu()
        sender = asyncio.create_task(send_steady(url, mix, args.rate))
        started = time.perf_counter()
        next_report = started + 30
        while not sender.done():
            await asyncio.sleep(0.5)
            peak = max(peak, bot.rss())
            if args.minutes and time.perf_counter() >= next_report:
                next_report += 30
                q = queue(monitor_engine)
                print(
                    f"t={time.perf_counter() - started:5.0f}s rss={bot.rss():6.1f} MB "
                    f"db_connections={connections(monitor_engine, db)} fds={bot.fds()} "
                    f"queue={q.get('pending', 0) + q.get('running', 0)} done={q.get('done', 0)}",
                    flush=True,
                )
        sent = sender.result()
        sent_at = time.perf_counter()
        cpu_sent = bot.cpu()
        while True:
            q = queue(monitor_engine)
            peak = max(peak, bot.rss())
            if not q.get("pending") and not q.get("running"):
                break
            if time.perf_counter() - sent_at > args.drain_timeout:
                print(f"queue not drained after {args.drain_timeout} s: {q}")
                break
            await asyncio.sleep(0.5)
        drained = time.perf_counter()
        cpu_drained = bot.cpu()
        lat = sent["latencies"]
        processed = q.get("done", 0) + q.get("dead", 0)
        stats = bot.github_stats()
        print(
            f"sent {sent['sent']} deliveries in {sent['elapsed']:.1f} s "
            f"({sent['sent'] / sent['elapsed']:.0f}/s offered {args.rate}/s); "
            f"acknowledged {len(lat)}"
        )
        print(
            f"ack latency p50 {percentile(lat, 0.5) * 1000:.1f} ms, p99 {percentile(lat, 0.99) * 1000:.1f} ms"
        )
        print(
            f"processing: {processed} deliveries in {drained - started:.1f} s "
            f"({processed / (drained - started):.0f}/s); "
            + (
                f"queue drained {drained - sent_at:.1f} s after the last send"
                if not q.get("pending") and not q.get("running")
                else f"queue NOT drained: {q.get('pending', 0) + q.get('running', 0)} left "
                f"{drained - sent_at:.1f} s after the last send"
            )
        )
        print(
            f"errors: http {sent['errors'] or 0}, dead-lettered {q.get('dead', 0)}, "
            f"unknown GitHub routes {stats['unknown'] or 0}; GitHub requests {stats['requests']} "
            f"for {stats['repos']} repositories"
        )
        n = max(sent["sent"], 1)
        serve_sending = (cpu_sent[0] - cpu_start[0]) / n * 1000
        serve_all = (cpu_drained[0] - cpu_start[0]) / n * 1000
        workers = sum(cpu_drained[1:]) - sum(cpu_start[1:])
        print(
            f"CPU per delivery: receiver {serve_sending:.2f} ms while sending, "
            f"{serve_all:.2f} ms until drained; workers {workers / n * 1000:.2f} ms; "
            f"machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        print(
            f"bot peak RSS {peak:.0f} MB over {len(bot.procs)} processes; now {bot.rss():.0f} MB, "
            f"{bot.fds()} fds, {connections(monitor_engine, db)} db connections"
        )
    finally:
        bot.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="PostgreSQL URL (a private schema is made in it)")
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--minutes", type=float, help="soak: run this long and print figures every 30 s")
    ap.add_argument(
        "--workers", type=int, default=2, help="`readiness worker` processes (serve only receives)"
    )
    ap.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="READINESS_WORKER_CONCURRENCY: jobs each worker runs at once (most of a job is waiting)",
    )
    ap.add_argument("--latency-ms", type=float, default=40.0, help="fake GitHub's mean latency")
    ap.add_argument("--drain-timeout", type=float, default=600.0)
    args = ap.parse_args()
    url = normalize_url(args.db)
    schema = f"load_bench_{os.getpid()}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = make_url(url).update_query_dict({"options": f"-csearch_path={schema}", "application_name": APP_NAME})
    db_url = db.render_as_string(hide_password=False)
    try:
        upgrade(db_url)
        monitor_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        monitor = make_engine(monitor_url.render_as_string(hide_password=False))
        try:
            asyncio.run(run(args, db_url, monitor))
        finally:
            monitor.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
