"""Benchmark: all shipped templates over a synthetic 100,000-path repository.

Run: `.venv/bin/python bench/rules.py [--paths 100000] [--runs 15] [--seed 7]`

Prints plain figures: the median (and min) wall time of building the path index and of evaluating
every shipped template with it, first for path rules only (the reader returns nothing, so
`contains` rules cost only candidate selection), then with a fake reader serving small synthetic
files; peak memory of one run (tracemalloc); and a reference loop to put a busy machine in scale.

The engine is Hyperscan's block filter when it is installed (`--engine python` forces the
pure-Python buckets). Its glob database is compiled once per process and glob set; that one-time
cost is printed on its own line and kept out of the medians, as a running bot pays it once.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable

from bot.core import pathscan
from bot.core.pathindex import PathIndex
from bot.core.rules import CompiledChecklist, compile_checklist, evaluate_many
from bot.core.snapshot import CIResult, RepoSnapshot
from bot.resources import load_shipped

WORDS = [
    "core",
    "api",
    "auth",
    "billing",
    "user",
    "order",
    "cart",
    "search",
    "index",
    "cache",
    "queue",
    "worker",
    "util",
    "model",
    "view",
    "admin",
]
JS_NAMES = ["index", "utils", "types", "helpers", "constants", "main", "parser", "errors", "config"]
JS_NAMES += ["client", "server", "stream", "buffer", "async", "compat", "polyfill", "README", "LICENSE"]
LANGS = {
    "py": ("src/{pkg}/{mod}/", "tests/{mod}/test_{name}.py"),
    "go": ("internal/{mod}/", "internal/{mod}/{name}_test.go"),
    "ts": ("web/src/{mod}/", "web/src/{mod}/{name}.test.ts"),
    "java": (
        "services/{svc}/src/main/java/com/acme/{mod}/",
        "services/{svc}/src/test/java/com/acme/{mod}/{name}Test.java",
    ),
}


def synthetic_tree(n: int, seed: int) -> list[str]:
    """A realistic mix: app code in four languages, tests, docs, CI, infra and lots of vendored deps."""
    rng = random.Random(seed)
    paths: set[str] = {
        "README.md",
        "LICENSE",
        ".gitignore",
        "Makefile",
        "pyproject.toml",
        "package.json",
        "go.mod",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
        ".gitlab-ci.yml",
        "docker-compose.yml",
        "Dockerfile",
        "deploy/helm/app/Chart.yaml",
        "deploy/helm/app/values.yaml",
        "deploy/helm/app/templates/deployment.yaml",
        "deploy/helm/app/templates/service.yaml",
        "infra/terraform/main.tf",
        "infra/terraform/variables.tf",
        "docs/adr/0001-record-decisions.md",
        "docs/architecture/overview.md",
        "migrations/env.py",
        "CODEOWNERS",
    }
    for i in range(40):
        paths.add(f"docs/guides/{rng.choice(WORDS)}-{i}.md")
        paths.add(f"migrations/versions/{i:04d}_{rng.choice(WORDS)}.py")
    for svc in WORDS[:8]:
        paths.add(f"services/{svc}/Dockerfile")
        paths.add(f"services/{svc}/README.md")
    while len(paths) < n:
        roll = rng.random()
        name = f"{rng.choice(WORDS)}_{rng.randrange(2000)}"
        if roll < 0.45:  # node_modules: many packages repeating the same few file names
            pkg = f"{rng.choice(WORDS)}-{rng.randrange(25)}"
            sub = rng.choice(["", "", "lib", "dist", "src", "dist/esm", "lib/utils"])
            ext = rng.choice(["js", "js", "d.ts", "json", "md", "map", "mjs"])
            stem = rng.choice(JS_NAMES) if rng.random() < 0.7 else f"{rng.choice(WORDS)}_{rng.randrange(200)}"
            paths.add(f"node_modules/{pkg}/{sub + '/' if sub else ''}{stem}.{ext}")
            paths.add(f"node_modules/{pkg}/package.json")
        elif roll < 0.6:  # Go vendor tree
            org, repo = rng.choice(WORDS[:10]), f"{rng.choice(WORDS[:4])}{rng.randrange(2)}"
            stem = f"{rng.choice(WORDS)}{rng.choice(['', '_test', '_unix', '_' + str(rng.randrange(40))])}"
            paths.add(f"vendor/github.com/{org}/{repo}/{rng.choice(WORDS[:6])}/{stem}.go")
        elif roll < 0.9:  # application code and its tests
            lang = rng.choice(list(LANGS))
            code, test = LANGS[lang]
            fields = {"pkg": "acme", "mod": rng.choice(WORDS), "svc": rng.choice(WORDS[:8]), "name": name}
            paths.add(code.format(**fields) + f"{name}.{lang}")
            if rng.random() < 0.4:
                paths.add(test.format(**fields))
        elif roll < 0.97:  # docs, assets
            paths.add(f"docs/{rng.choice(WORDS)}/{name}.{rng.choice(['md', 'rst', 'png', 'svg'])}")
        else:  # config sprinkled around
            paths.add(f"config/{rng.choice(WORDS)}/{name}.{rng.choice(['yaml', 'yml', 'json', 'toml'])}")
    return sorted(paths)[:n]


def fake_reader(paths: list[str]) -> Callable[[str], bytes | None]:
    """Small deterministic contents per path; binary for images so they get skipped."""
    known = set(paths)

    def read(path: str) -> bytes | None:
        if path not in known:
            return None
        if path.endswith((".png", ".map")):
            return b"\x89PNG\r\n\x1a\n\0\0\0"
        seed = int(hashlib.blake2b(path.encode(), digest_size=4).hexdigest(), 16)
        body = "".join(
            f"def handler_{seed % 97}_{i}(request):\n    return {{'ok': {i}}}\n\n" for i in range(40)
        )
        return f"# {path}\nimport os\nimport logging\n\n{body}".encode()

    return read


def run_once(compiled: list[CompiledChecklist], snapshot: RepoSnapshot) -> tuple[float, float]:
    """Wall seconds to build the path index, and to evaluate every checklist with it."""
    start = time.perf_counter()
    index = PathIndex.build(snapshot.paths)
    built = time.perf_counter()
    evaluate_many(compiled, snapshot, index=index)
    return built - start, time.perf_counter() - built


def reference_loop() -> float:
    """A fixed pure-Python workload, so figures from a busy or slow machine can be put in scale."""
    start = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    return time.perf_counter() - start


def describe(label: str, runs: list[tuple[float, float]], peak: int) -> str:
    build = [b * 1000 for b, _ in runs]
    rules = [e * 1000 for _, e in runs]
    total = [(b + e) * 1000 for b, e in runs]
    return (
        f"{label}: median {statistics.median(total):.0f} ms (min {min(total):.0f}) = index build "
        f"{statistics.median(build):.0f} ms (min {min(build):.0f}) + rules {statistics.median(rules):.0f} ms "
        f"(min {min(rules):.0f}); peak traced memory {peak / 1_048_576:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", choices=["auto", "python"], default="auto")
    args = parser.parse_args()
    if args.engine == "python":
        pathscan.enabled = False

    templates = load_shipped()
    compiled = [compile_checklist(t) for t in templates.values()]
    items = sum(1 for t in templates.values() for _ in t.items())
    automatic = sum(len(c.rules) for c in compiled)
    paths = synthetic_tree(args.paths, args.seed)
    ci = (CIResult("lint", "success", commit="1a2b3c4d"), CIResult("test", "failure", commit="1a2b3c4d"))
    path_only = RepoSnapshot(paths=paths, ci=ci, commit="1a2b3c4d")
    with_contents = RepoSnapshot(paths=paths, read=fake_reader(paths), ci=ci, commit="1a2b3c4d")

    dirs = len({p.rsplit("/", 1)[0] for p in paths if "/" in p})
    print(f"templates: {len(templates)}  items: {items}  automatic: {automatic}")
    names = len({p.rsplit("/", 1)[-1] for p in paths})
    print(f"paths: {len(paths)}  directories holding files: {dirs}  distinct file names: {names}")
    reference = min(reference_loop() for _ in range(5)) * 1000
    print(f"reference 1,000,000-iteration Python loop: min {reference:.0f} ms")
    if pathscan.available():
        start = time.perf_counter()
        pathscan.block_filter([g for c in compiled for g in c.globs.values()])
        compile_ms = (time.perf_counter() - start) * 1000
        print(f"engine: hyperscan block filter; one-time glob database compile {compile_ms:.0f} ms")
    else:
        print("engine: pure-Python buckets (hyperscan not installed or --engine python)")
    for label, snapshot in (("path rules", path_only), ("with contains reads", with_contents)):
        runs = [run_once(compiled, snapshot) for _ in range(args.runs)]
        tracemalloc.start()
        run_once(compiled, snapshot)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(describe(label, runs, peak))
    ticked = sum(v.passed for r in evaluate_many(compiled, with_contents) for v in r.values())
    print(f"items ticked on the synthetic tree (with contents): {ticked} of {automatic}")


if __name__ == "__main__":
    main()
