"""Benchmark: `readiness check` end to end on a 100,000-file checkout (target: under 2 s).

Run: `.venv/bin/python bench/check.py [--files 100000] [--runs 5] [--mode git|walk] [--keep DIR]`

Builds the checkout in a temporary directory from the same synthetic tree as `bench/rules.py`
(app code in four languages, tests, docs, vendored packages; small text files, a few binary
ones), commits it to git (`--mode git`, how a CI job sees a checkout: the tracked files) or
leaves it a plain directory (`--mode walk`: walked honouring `.gitignore`), then times the
installed `readiness check PATH --format json` as a whole process: the median, min and max wall
seconds of `--runs` runs after one warm-up, and their CPU seconds (which hold on a busy shared
machine where wall time does not). Building the checkout is not timed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess  # nosec B404 - fixed argv below
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rules import fake_reader, synthetic_tree


def build_checkout(root: Path, files: int, seed: int, mode: str) -> None:
    paths = synthetic_tree(files, seed)
    read = fake_reader(paths)
    for path in paths:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read(path) or b"")
    if mode == "git":
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
            subprocess.run([*git, *args], cwd=root, check=True)  # nosec B603


def readiness() -> list[str]:
    found = shutil.which("readiness", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_check(root: Path, runs: int) -> tuple[list[float], list[float], dict]:
    """Wall and CPU seconds of each counted run (CPU: user + system of the process and its git
    children, the figure that holds on a busy shared machine), and the report of the first."""
    argv = [*readiness(), "check", str(root), "--format", "json"]
    seconds: list[float] = []
    cpu: list[float] = []
    report: dict = {}
    for i in range(runs + 1):  # the first run warms the page cache and is not counted
        start, used = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, capture_output=True, check=False)  # nosec B603
        elapsed = time.perf_counter() - start
        if i:
            cpu.append(_children_cpu() - used)
        if done.returncode not in (0, 1):
            sys.exit(f"readiness check failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        if i:
            seconds.append(elapsed)
        else:
            report = json.loads(done.stdout)
    return seconds, cpu, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=["git", "walk"], default="git")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the checkout here and keep it")
    args = parser.parse_args()

    temp = None
    if args.keep:
        root = args.keep
        if not root.exists():
            root.mkdir(parents=True)
            build_checkout(root, args.files, args.seed, args.mode)
    else:
        temp = tempfile.TemporaryDirectory(prefix="readiness-bench-")
        root = Path(temp.name)
    try:
        if temp is not None:
            start = time.perf_counter()
            build_checkout(root, args.files, args.seed, args.mode)
            print(f"built a {args.files}-file checkout ({args.mode}) in {time.perf_counter() - start:.1f} s")
        seconds, cpu, report = time_check(root, args.runs)
    finally:
        if temp is not None:
            temp.cleanup()
    summary = report.get("summary") or {}
    print(f"readiness check on {args.files} files ({args.mode}), {args.runs} runs after one warm-up:")
    print(
        f"wall median {statistics.median(seconds):.2f} s (min {min(seconds):.2f}, max {max(seconds):.2f});"
        f" target under 2 s"
    )
    print(f"cpu (user + sys) median {statistics.median(cpu):.2f} s (min {min(cpu):.2f}, max {max(cpu):.2f})")
    if summary:
        print(f"report summary: {json.dumps(summary, sort_keys=True)}")


if __name__ == "__main__":
    main()
