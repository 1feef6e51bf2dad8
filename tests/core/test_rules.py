"""Evidence rules: every kind and combinator, gitignore glob semantics, caps, and the evidence text."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Mapping, Sequence

import pytest

from bot.core import pathscan
from bot.core.errors import ConfigError, TemplateError
from bot.core.globs import GlobRegex, compile_glob, depth_key, naive_files
from bot.core.pathindex import BLOCK, COUNT_CAP, PathIndex, matching_any
from bot.core.rules import (
    CI,
    All,
    Any,
    Contains,
    Files,
    Not,
    Rule,
    Verdict,
    compile_checklist,
    evaluate,
    evaluate_many,
    parse_rule,
)
from bot.core.snapshot import CIResult, RepoSnapshot
from bot.core.templates import Item, Section, Template
from bot.core.yamlload import load_yaml

SHA = "1a2b3c4d5e6f"


def template(rules: Mapping[str, Rule | None], template_id: str = "t") -> Template:
    items = tuple(Item(id=k, title=k, why="because", rule=r) for k, r in rules.items())
    return Template(template_id, "T", 1, None, None, (Section("s", "S", items),), f"{template_id}.yaml")


def snapshot(
    files: Sequence[str] | Mapping[str, bytes], ci: Sequence[CIResult] = (), commit: str | None = SHA
) -> RepoSnapshot:
    contents = dict(files) if isinstance(files, Mapping) else {}
    return RepoSnapshot(paths=list(files), read=contents.get, ci=tuple(ci), commit=commit)


def verdict(rule: Rule, snap: RepoSnapshot) -> Verdict:
    return evaluate(compile_checklist(template({"x": rule})), snap)["x"]


def files_verdict(globs: str | Sequence[str], paths: Sequence[str]) -> Verdict:
    return verdict(Files((globs,) if isinstance(globs, str) else tuple(globs)), snapshot(paths))


# ---------------------------------------------------------------- files


def test_files_evidence_names_the_shallowest_match() -> None:
    assert files_verdict("Chart.yaml", ["deploy/helm/app/Chart.yaml", "README.md"]) == Verdict(
        True, ("found `deploy/helm/app/Chart.yaml`",)
    )
    assert files_verdict(
        "Dockerfile", ["services/api/Dockerfile", "Dockerfile", "a/b/c/Dockerfile"]
    ) == Verdict(True, ("found `Dockerfile` and 2 more",))


def test_files_failure_says_what_was_looked_for() -> None:
    assert files_verdict("Dockerfile", ["README.md"]) == Verdict(False, ("no file matches `Dockerfile`",))
    assert files_verdict(["a", "b", "c", "d", "e", "f"], ["README.md"]).evidence == (
        "no file matches `a`, `b`, `c`, `d` or 2 more",
    )
    assert files_verdict(["openapi.yaml", "openapi.json"], []).evidence == (
        "no file matches `openapi.yaml` or `openapi.json`",
    )


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        # no slash: the basename at any depth
        ("Dockerfile", "Dockerfile", True),
        ("Dockerfile", "services/api/Dockerfile", True),
        ("*.tf", "infra/modules/vpc/main.tf", True),
        ("Dockerfile", "Dockerfile.dev", False),
        ("readme.md", "README.md", False),  # case-sensitive, like git
        # a basename pattern also matches a directory, hence every file below it
        ("runbooks", "ops/runbooks/db-failover.md", True),
        ("*.d", "etc/conf.d/app.conf", True),
        # a slash anchors at the repository root
        ("docs/adr/*.md", "docs/adr/0001-use-postgres.md", True),
        ("docs/adr/*.md", "service/docs/adr/0001.md", False),
        ("docs/adr/*.md", "docs/adr/old/0001.md", False),
        ("/Dockerfile", "Dockerfile", True),
        ("/Dockerfile", "api/Dockerfile", False),
        # ** spans any number of directories
        ("**/migrations/versions/*.py", "migrations/versions/001_init.py", True),
        ("**/migrations/versions/*.py", "app/db/migrations/versions/001_init.py", True),
        ("**/migrations/versions/*.py", "migrations/versions/sub/001.py", False),
        ("docs/**/*.md", "docs/a/b/c.md", True),
        ("docs/**/*.md", "docs/c.md", True),
        ("docs/**", "docs/a/b/c.md", True),
        ("**/adr/**", "x/adr/y/z.md", True),
        # a trailing slash means a directory: any file below it, never a file of that name
        ("docs/adr/", "docs/adr/0001.md", True),
        ("docs/adr/", "docs/adr", False),
        ("tests/", "pkg/tests/test_app.py", True),
        ("tests/", "tests", False),
        # wildcards stay inside one path segment
        ("src/*.py", "src/pkg/app.py", False),
        ("test_*.py", "tests/unit/test_app.py", True),
        ("*_test.go", "internal/x/handler_test.go", True),
        ("[Dd]ockerfile", "dockerfile", True),
        ("Dockerfile*", "build/Dockerfile.prod", True),
    ],
)
def test_gitignore_glob_semantics(glob: str, path: str, matches: bool) -> None:
    assert files_verdict(glob, [path, "unrelated/file.txt"]).passed is matches
    assert (naive_files([path], glob) == [path]) is matches  # the reference agrees


def test_directory_evidence_counts_the_files_below(engine: str) -> None:
    paths = ["docs/adr/0001-a.md", "docs/adr/0002-b.md", "docs/index.md"]
    assert files_verdict("docs/adr/", paths).evidence == ("found `docs/adr/` (2 files)",)
    assert files_verdict("runbooks", ["ops/runbooks/db.md"]).evidence == ("found `ops/runbooks/` (1 file)",)
    more = [*paths, "x/docs/adr/0003-c.md"]
    assert files_verdict(["docs/adr/", "**/adr/*.md"], more).evidence == (
        "found `docs/adr/` (2 files) and 1 more",
    )


def test_files_evidence_stops_counting_at_the_cap(engine: str) -> None:
    paths = [f"pkg{i}/mod.py" for i in range(COUNT_CAP + 50)] + ["setup.py"]
    assert files_verdict("*.py", paths).evidence == (
        f"found `setup.py` and more than {COUNT_CAP - 1} others",
    )
    assert files_verdict("*.py", paths[: COUNT_CAP - 1]).evidence == (
        f"found `pkg0/mod.py` and {COUNT_CAP - 2} more",
    )


def realistic_tree(rng: random.Random, n: int) -> list[str]:
    """Paths shaped like a real service monorepo, with the names the shipped rules look for."""
    dirs = ["", "src/", "src/app/", "services/api/", "docs/", "docs/adr/", "deploy/helm/app/templates/",
            ".github/workflows/", "infra/terraform/", "tests/unit/", "node_modules/x/lib/", "ops/runbooks/",
            "migrations/versions/", "k8s/overlays/prod/", "docs/architecture/"]  # fmt: skip
    names = ["Dockerfile", "README.md", "main.py", "app.go", "index.ts", "Chart.yaml", "ci.yml", "main.tf",
             "test_app.py", "app_test.go", "postmortem-template.md", "0001-use-adr.md", "openapi.yaml",
             "values.yaml", "locustfile.py", "CODEOWNERS", "SECURITY.md", "renovate.json", "k6-load.js",
             "docker-compose.yml", "runbook-db.md", "threat-model.md", "x.Test.java", "Makefile"]  # fmt: skip
    return [f"{rng.choice(dirs)}{rng.choice(['', 'a/', 'b/c/'])}{rng.choice(names)}" for _ in range(n)]


def test_both_engines_give_the_same_verdicts_for_every_shipped_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    if pathscan._hs is None:
        pytest.skip("hyperscan is not installed on this platform")
    from bot.resources import load_shipped

    compiled = [compile_checklist(t) for t in load_shipped().values()]
    paths = realistic_tree(random.Random(3), 3000)
    contents = {p: f"# {p}\n@app.get('/healthz')\nprometheus_client\nretry\n".encode() for p in paths}
    snap = RepoSnapshot(
        paths=paths, read=contents.get, ci=(CIResult("lint", "success", commit=SHA),), commit=SHA
    )
    answers = {}
    monkeypatch.setattr(pathscan, "MIN_PATHS", 0)
    for engine in ("hyperscan", "python"):
        monkeypatch.setattr(pathscan, "enabled", engine == "hyperscan")
        answers[engine] = evaluate_many(compiled, snap)
    assert answers["hyperscan"] == answers["python"]
    assert sum(v.passed for verdicts in answers["python"] for v in verdicts.values()) > 40


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_a_glob_hyperscan_rejects_is_checked_everywhere_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pathscan, "enabled", True)
    monkeypatch.setattr(pathscan, "MIN_PATHS", 0)
    real = pathscan.hyperscan_expression
    monkeypatch.setattr(
        pathscan, "hyperscan_expression", lambda g: b"(unclosed" if g.text == "*.md" else real(g)
    )
    monkeypatch.setattr(pathscan, "_cache", pathscan.OrderedDict())
    paths = realistic_tree(random.Random(4), 2000)
    index = PathIndex.build(paths)
    texts = ["*.md", "Dockerfile", "docs/adr/*.md", "*.nothing"]
    index.prime([compile_glob(t) for t in texts])
    for text in texts:
        assert index.matching_files([compile_glob(text)]) == naive_files(paths, text), text
    assert pathscan.block_filter([compile_glob(t) for t in texts]).unfiltered == ["*.md"]


NAMES = [
    "src", "docs", "adr", "a", "b", "lib", "tests", "test", "node_modules", "vendor", "migrations",
    "versions", "x.py", "app.py", "test_app.py", "app_test.go", "main.go", "index.js", "a.test.ts",
    "Dockerfile", "Dockerfile.prod", "Chart.yaml", "values.yaml", "README.md", "0001-x.md", "conf.d",
    "[odd].txt", ".github", "workflows", "ci.yml", "db.changelog-master.xml", "stress-test.js",
]  # fmt: skip
GLOBS = [
    "Dockerfile", "*.py", "*.md", "docs/adr/*.md", "docs/adr/", "/src/*.py", "**/migrations/versions/*.py",
    "a/**", "a/**/b", "Dockerfile*", "*e*", "**/adr/**", "src/**/test*", "x.py/", "**", "[ab]",
    "docs/**/*.md", "*.d", "test", "tests/", "a/b", "**/migrations/[0-9]*.py", "*changelog*.xml",
    "*_test.go", "*stress*.js", "**/*.py", "**/test", "*/adr/*", "[!a]*.py", "*", "?", "**/lib/*/",
    "docs/**", "/README.md", "src/", "*.[pj][ys]", "*t*/", ".github/workflows/*.yml", "*.test.ts",
    "test_*.py", "node_modules/*/index.js", "**/vendor/**/*.go", "\\[odd\\].txt", "*.y*ml",
    "**/src/**/*.py", "**/src/src/*", "**/workflows/ci.yml", "**/tests/**/test_*.py", "*ang*.xml",
    "*tes*", "*.t*t.*", "*ock*",
]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_index_agrees_with_the_naive_matcher_on_random_trees(seed: int, engine: str) -> None:
    rng = random.Random(seed)
    paths = {"/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 6))) for _ in range(2500)}
    index = PathIndex.build(paths)
    if seed % 2:  # resolve together, as evaluate_many does, instead of one glob at a time
        index.prime([compile_glob(text) for text in GLOBS])
    for text in GLOBS:
        glob = compile_glob(text)
        assert index.matching_files([glob]) == naive_files(paths, text), text
        limited, capped = index.candidates([glob], 5)
        assert limited == naive_files(paths, text)[:5], text
        assert capped is (len(naive_files(paths, text)) > 5)


# Globs whose answers share lookups: a literal name that also has a wanted extension, name
# ranges next to extension buckets, anchored globs routed through the names of their last segment.
SHARED = [
    "README.md", "*.md", "x.py", "*.py", "test_*.py", "app_test.go", "*_test.go", "*.go",
    "docs/**/*e*.md", "docs/**/*.md", "**/adr/*x*.md", "a/**/*.py", "*/src/*.py", "index.js",
]  # fmt: skip


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_index_agrees_with_the_naive_matcher_when_lookups_overlap(seed: int, engine: str) -> None:
    rng = random.Random(seed)
    paths = [
        "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 6))) for _ in range(2500)
    ]  # with repeats: the index counts each path once
    index = PathIndex.build(paths)
    primed = SHARED[: 4 + seed]  # then the rest resolve without being primed
    index.prime([compile_glob(text) for text in primed])
    for text in SHARED + GLOBS[:10]:
        assert index.matching_files([compile_glob(text)]) == naive_files(paths, text), text
    for pair in [("*.py", "README.md"), ("*.md", "docs/adr/"), ("test_*.py", "x.py", "*.go")]:
        expected = sorted({p for text in pair for p in naive_files(paths, text)}, key=depth_key)
        assert index.candidates([compile_glob(text) for text in pair], 7) == (
            expected[:7],
            len(expected) > 7,
        ), pair


def test_common_extensions_report_every_file_and_the_shallowest_first(engine: str) -> None:
    # thousands of .py files: the index keeps only the shallowest few until more are asked for
    rng = random.Random(9)
    words = ["a", "b", "c", "lib", "src", "tests", "x.py"]
    paths = {
        "/".join(rng.choice(words) for _ in range(rng.randint(0, 7))).strip("/")
        + f"/{rng.choice(['m', 'n', 'x', 'test_m'])}{i}.{rng.choice(['py', 'py', 'md'])}"
        for i in range(12_000)
    }
    paths = {p.lstrip("/") for p in paths} | {"x.py", "deep/er/x.py"}
    texts = ["*.py", "*.md", "x.py", "test_*.py", "**/lib/*.py", "*/src/*.md"]
    index, unprimed = PathIndex.build(paths), PathIndex.build(paths)
    index.prime([compile_glob(text) for text in texts])
    for text in texts:
        expected = naive_files(paths, text)
        glob = compile_glob(text)
        best, count, more = index.best([glob])
        assert (best, count, more) == unprimed.best([glob]), text
        # the shallowest file, or the directory (named like a file here: "x.py/") it matches through
        assert best == expected[0] or (best.endswith("/") and expected[0].startswith(best)), text
        assert (count, more) == (min(len(expected), COUNT_CAP), len(expected) > COUNT_CAP), text
        assert index.candidates([glob], 200) == (expected[:200], len(expected) > 200), text
        assert (
            index.candidates([glob, compile_glob("x.py")], 300)[0]
            == sorted(set(expected) | set(naive_files(paths, "x.py")), key=depth_key)[:300]
        ), text
        assert index.matching_files([glob]) == expected, text


class CountingRegex:
    """Wraps a compiled regex and counts the paths it is asked about."""

    def __init__(self, regex: GlobRegex) -> None:
        self.regex = regex
        self.calls = 0

    def match(self, text: str) -> bool:
        self.calls += 1
        return self.regex.match(text)

    def end(self, text: str) -> int | None:
        return self.regex.end(text)

    @property
    def pattern(self) -> str:
        return self.regex.pattern


@pytest.fixture(params=["hyperscan", "python"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the Hyperscan block filter and with the pure-Python buckets."""
    if request.param == "hyperscan" and pathscan._hs is None:
        pytest.skip("hyperscan is not installed on this platform")
    monkeypatch.setattr(pathscan, "enabled", request.param == "hyperscan")
    monkeypatch.setattr(pathscan, "MIN_PATHS", 0)  # small test trees too
    return request.param


def test_globs_with_a_literal_part_never_scan_the_path_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pathscan, "enabled", False)  # the pure-Python buckets' promise
    rng = random.Random(11)
    words = ["api", "core", "auth", "billing", "user", "web", "lib", "docs", "adr", "migrations", "versions"]
    exts = ["py", "go", "ts", "js", "md", "yaml", "json"]
    paths = {
        "/".join(rng.choice(words) for _ in range(rng.randint(0, 5))).lstrip("/")
        + f"/{rng.choice(words)}_{rng.randrange(500)}.{rng.choice(exts)}"
        for _ in range(20_000)
    }
    paths = {p.lstrip("/") for p in paths} | {"Dockerfile", "docs/adr/0001-x.md", "test_app.py"}
    texts = [
        "Dockerfile", "*.py", "docs/adr/*.md", "**/migrations/versions/*.py", "test_*.py", "*_test.go",
        "*auth*.ts", "docs/**/*.md", "**/adr/**", "core/", "Dockerfile*", ".github/workflows/*.yml",
    ]  # fmt: skip
    index = PathIndex.build(paths)
    counted = [dataclasses.replace(g, regex=CountingRegex(g.regex)) for g in map(compile_glob, texts)]
    for glob in counted:
        assert index.matching_files([glob]) == naive_files(paths, glob.text), glob.text
    calls = sum(glob.regex.calls for glob in counted)
    assert calls < len(paths) / 2, f"{calls} regex tests for {len(texts)} globs over {len(paths)} paths"


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_the_block_filter_checks_only_blocks_that_can_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pathscan, "enabled", True)
    monkeypatch.setattr(pathscan, "MIN_PATHS", 0)
    paths = [f"pkg{i // 50}/mod{i}.py" for i in range(20_000)] + ["deploy/Dockerfile", "docs/adr/0001-x.md"]
    texts = ["Dockerfile", "docs/adr/", "*.tf", "**/helm/**/Chart.yaml", "*.py"]
    counted = [dataclasses.replace(g, regex=CountingRegex(g.regex)) for g in map(compile_glob, texts)]
    index = PathIndex.build(paths)
    index.prime(counted)
    assert index.best(counted[:1]) == ("deploy/Dockerfile", 1, False)
    assert index.best(counted[1:2]) == ("docs/adr/", 1, False)
    assert index.best(counted[2:4]) == (None, 0, False)
    files, more = index.candidates(counted[4:], 10)
    assert files == naive_files(paths, "*.py")[:10] and more
    calls = {g.text: g.regex.calls for g in counted}
    assert calls["*.tf"] == calls["**/helm/**/Chart.yaml"] == 0  # no match anywhere: never checked
    assert 0 < calls["docs/adr/"] <= BLOCK + 1  # + the evidence
    # globs without "/" decide on file names with string tests: no regex unless a directory may match
    assert calls["Dockerfile"] == calls["*.py"] == 0


def test_paths_with_newlines_and_non_ascii_globs_are_still_matched(engine: str) -> None:
    paths = ["deploy/Dockerfile", "docs/über/x.md", "a.md", "line\nbreak.md", "odd\nname.md"]
    index = PathIndex.build(paths)
    for text in ["Dockerfile", "docs/über/*.md", "*.md", "*\n*", "d[ö]cs/**"]:
        index.prime([compile_glob(text)])
        assert index.matching_files([compile_glob(text)]) == naive_files(paths, text), text


def test_nested_directories_of_the_same_name_are_not_counted_twice(engine: str) -> None:
    # many .py files make "files below a directory named src" the cheapest route for this glob
    paths = ["src/src/a.py", "src/b.py", *(f"pkg{i}/m.py" for i in range(200))]
    glob = compile_glob("**/src/*.py")
    assert PathIndex.build(paths).matching_files([glob]) == ["src/b.py", "src/src/a.py"]


def test_candidates_merge_several_globs_shallowest_first_without_duplicates(engine: str) -> None:
    paths = ["a/b/c/app.py", "app.py", "docs/x.md", "a/notes.md", "a/b/app.py"]
    index = PathIndex.build(paths)
    globs = [compile_glob("*.py"), compile_glob("*.md"), compile_glob("app.py")]
    assert index.candidates(globs, 10) == (
        ["app.py", "a/notes.md", "docs/x.md", "a/b/app.py", "a/b/c/app.py"],
        False,
    )
    assert index.candidates(globs, 2) == (["app.py", "a/notes.md"], True)


# ---------------------------------------------------------------- contains


APP = b'import os\n\n@app.get("/healthz")\ndef health():\n    return {"ok": True}\n'


def test_contains_reports_file_line_and_matched_text() -> None:
    snap = snapshot({"src/app.py": APP, "src/util.py": b"def f():\n    pass\n"})
    assert verdict(Contains(("*.py",), r"/healthz|/readyz"), snap) == Verdict(
        True, ("`src/app.py:3` matches `/healthz`",)
    )


def test_contains_ignore_case_and_failure_text() -> None:
    snap = snapshot({"src/app.py": APP, "lib/x.py": b"nothing"})
    assert verdict(Contains(("*.py",), "HEALTHZ", ignore_case=True), snap).passed
    assert verdict(Contains(("*.py",), "HEALTHZ"), snap) == Verdict(
        False, ("`HEALTHZ` not found in 2 files matching `*.py`",)
    )
    assert verdict(Contains(("*.go",), "x"), snap) == Verdict(False, ("no file matches `*.go`",))


def test_contains_searches_at_most_max_files_preferring_shallow_paths() -> None:
    files = {f"pkg{i}/mod.py": b"plain code\n" for i in range(3)}
    files["deep/er/still/app.py"] = APP
    snap = snapshot(files)
    assert verdict(Contains(("*.py",), "healthz", max_files=3), snap) == Verdict(
        False, ("`healthz` not found in the first 3 files matching `*.py`",)
    )
    assert verdict(Contains(("*.py",), "healthz", max_files=4), snap).passed


def test_contains_reads_at_most_max_bytes() -> None:
    snap = snapshot({"app.py": b"#" * 100 + b"\nprometheus_client\n"})
    assert not verdict(Contains(("app.py",), "prometheus_client", max_bytes=50), snap).passed
    assert verdict(Contains(("app.py",), "prometheus_client", max_bytes=200), snap).passed


def test_contains_tolerates_a_character_cut_by_the_byte_cap() -> None:
    snap = snapshot({"README.md": "SLO: 99.9 %, café".encode()})
    cut = len("SLO: 99.9 %, caf") + 1  # inside the two-byte é
    assert verdict(Contains(("README.md",), "SLO", max_bytes=cut), snap).passed


def test_contains_skips_binary_undecodable_and_unreadable_files() -> None:
    snap = RepoSnapshot(
        paths=["logo.png", "legacy.txt", "gone.txt"],
        read={"logo.png": b"\x89PNG\0\0healthz", "legacy.txt": b"caf\xe9 healthz"}.get,
    )
    assert verdict(Contains(("*.png", "*.txt"), "healthz"), snap) == Verdict(
        False, ("`healthz` not found in 3 files matching `*.png` or `*.txt`",)
    )


def test_each_file_is_read_once_per_evaluation() -> None:
    reads: Counter[str] = Counter()
    data = {"app.py": APP, "setup.py": b"from setuptools import setup\n"}

    def read(path: str) -> bytes | None:
        reads[path] += 1
        return data.get(path)

    rules = {
        "health": Contains(("*.py",), "healthz"),
        "metrics": Contains(("*.py",), "prometheus"),
        "setup": Contains(("setup.py",), "setuptools"),
    }
    other = {"again": Contains(("*.py",), "nothing-here", ignore_case=True)}
    snap = RepoSnapshot(paths=list(data), read=read)
    compiled = [compile_checklist(template(rules)), compile_checklist(template(other, "u"))]
    evaluate_many(compiled, snap)
    assert reads == {"app.py": 1, "setup.py": 1}


def test_re2_patterns_run_in_linear_time() -> None:
    # (a+)+$ is the textbook catastrophic-backtracking pattern for backtracking engines
    snap = snapshot({"x.txt": b"a" * 50_000 + b"!"})
    assert not verdict(Contains(("x.txt",), "(a+)+$"), snap).passed


# ---------------------------------------------------------------- ci


def test_ci_success_on_the_head_commit() -> None:
    snap = snapshot([], ci=[CIResult("load-test", "success", commit=SHA)])
    assert verdict(CI(("*load-test*",)), snap) == Verdict(True, ("job `load-test` succeeded on 1a2b3c4",))


def test_ci_names_match_case_insensitively_across_slashes() -> None:
    snap = snapshot([], ci=[CIResult("CI / Lint (push)", "success", commit=SHA)])
    assert verdict(CI(("*lint*",)), snap).passed
    assert not verdict(CI(("lint",)), snap).passed


def test_ci_failure_reasons() -> None:
    snap = snapshot([], ci=[CIResult("test", "failure", commit=SHA), CIResult("lint", "success", commit=SHA)])
    assert verdict(CI(("test",)), snap) == Verdict(
        False, ("no successful CI job matching `test` on 1a2b3c4 (`test` failure)",)
    )
    assert verdict(CI(("*load*",)), snap) == Verdict(False, ("no CI job matches `*load*` on 1a2b3c4",))


def test_ci_results_for_other_commits_do_not_count() -> None:
    snap = snapshot([], ci=[CIResult("test", "success", commit="ffffffffff")])
    assert not verdict(CI(("test",)), snap).passed
    unknown_head = snapshot([], ci=[CIResult("test", "success", commit="ffffffffff")], commit=None)
    assert verdict(CI(("test",)), unknown_head).evidence == ("job `test` succeeded on fffffff",)
    no_commits = snapshot([], ci=[CIResult("test", "success")], commit=None)
    assert verdict(CI(("test",)), no_commits).evidence == ("job `test` succeeded",)


# ---------------------------------------------------------------- combinators


PATHS = ["Dockerfile", "deploy/helm/app/Chart.yaml", "secrets/key.pem"]


def test_all_collects_evidence_or_the_first_failure() -> None:
    snap = snapshot(PATHS)
    assert verdict(All((Files(("Dockerfile",)), Files(("Chart.yaml",)))), snap) == Verdict(
        True, ("found `Dockerfile`", "found `deploy/helm/app/Chart.yaml`")
    )
    assert verdict(All((Files(("Dockerfile",)), Files(("*.tf",)))), snap) == Verdict(
        False, ("no file matches `*.tf`",)
    )


def test_any_gives_the_first_passing_evidence_or_every_reason() -> None:
    snap = snapshot(PATHS)
    assert verdict(Any((Files(("*.tf",)), Files(("Chart.yaml",)))), snap) == Verdict(
        True, ("found `deploy/helm/app/Chart.yaml`",)
    )
    assert verdict(Any((Files(("*.tf",)), CI(("deploy",)))), snap) == Verdict(
        False, ("no file matches `*.tf`", "no CI job matches `deploy` on 1a2b3c4")
    )


def test_not_inverts_and_keeps_the_reason() -> None:
    snap = snapshot(PATHS)
    assert verdict(Not(Files(("*.p12",))), snap) == Verdict(True, ("no file matches `*.p12`",))
    assert verdict(Not(Files(("*.pem",))), snap) == Verdict(False, ("found `secrets/key.pem`",))


# ---------------------------------------------------------------- compiling checklists


def test_only_automatic_items_get_verdicts() -> None:
    compiled = compile_checklist(template({"docker": Files(("Dockerfile",)), "kickoff": None}))
    assert set(evaluate(compiled, snapshot(PATHS))) == {"docker"}


def test_extra_rules_are_ored_and_can_make_a_manual_item_automatic() -> None:
    t = template({"tf": Files(("*.tf",)), "kickoff": None})
    extra = {"tf": Files(("Chart.yaml",)), "kickoff": Files(("Dockerfile",))}
    verdicts = evaluate(compile_checklist(t, extra), snapshot(PATHS))
    assert verdicts == {
        "tf": Verdict(True, ("found `deploy/helm/app/Chart.yaml`",)),
        "kickoff": Verdict(True, ("found `Dockerfile`",)),
    }


def test_extra_rules_for_unknown_items_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown items of 't': nope"):
        compile_checklist(template({"a": None}), {"nope": Files(("x",))})


def test_evaluate_many_matches_separate_evaluations() -> None:
    a = compile_checklist(template({"docker": Files(("Dockerfile",)), "tf": Files(("*.tf",))}, "a"))
    b = compile_checklist(template({"pem": Not(Files(("*.pem",))), "helm": Files(("helm/",))}, "b"))
    snap = snapshot(PATHS)
    index = PathIndex.build(snap.paths)
    assert evaluate_many([a, b], snap, index=index) == [evaluate(a, snap), evaluate(b, snap)]


# ---------------------------------------------------------------- parse_rule for other files


def test_parse_rule_with_positions_of_another_document() -> None:
    doc = load_yaml(
        "overrides:\n  openapi-spec:\n    evidence:\n      files: ['api/[spec.yaml']\n",
        filename=".readiness.yml",
    )
    with pytest.raises(ConfigError) as info:
        parse_rule(
            doc.value["overrides"]["openapi-spec"]["evidence"],
            where=doc.positions,
            filename=".readiness.yml",
            path=("overrides", "openapi-spec", "evidence"),
            error=ConfigError,
        )
    assert str(info.value) == (
        ".readiness.yml:4:15: overrides.openapi-spec.evidence.files[0]: glob 'api/[spec.yaml': "
        "invalid glob (check for an unclosed '[' or a lone '/')"
    )


def test_parse_rule_with_a_where_callable() -> None:
    asked: list[tuple] = []

    def where(path: tuple) -> tuple[int | None, int | None]:
        asked.append(path)
        return (7, None)

    with pytest.raises(TemplateError) as info:
        parse_rule({"file": "x"}, where=where, filename="t.yaml", path=("evidence",))
    assert str(info.value) == (
        "t.yaml:7: evidence.file: unknown rule kind 'file'; expected one of files, contains, dependency, ci, all, any, "
        "not (did you mean 'files'?)"
    )
    assert asked == [("evidence", "file")]


def test_parse_rule_builds_the_ast() -> None:
    data = {
        "all": [
            {"files": "Dockerfile"},
            {"not": {"ci": ["*deploy*"]}},
            {"contains": {"files": ["*.py"], "pattern": "x", "max_bytes": 10}},
        ]
    }
    rule = parse_rule(data, where=lambda p: (None, None), filename="t.yaml")
    assert rule == All(
        (Files(("Dockerfile",)), Not(CI(("*deploy*",))), Contains(("*.py",), "x", max_bytes=10, scope="code"))
    )


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_small_trees_skip_the_compile_unless_a_bigger_tree_paid_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pathscan, "enabled", True)
    monkeypatch.setattr(pathscan, "MIN_PATHS", 1000)
    monkeypatch.setattr(pathscan, "_cache", pathscan.OrderedDict())
    globs = [compile_glob(text) for text in ["Dockerfile", "*.md", "docs/adr/"]]
    small_paths = ["Dockerfile", "README.md", "docs/adr/0001-x.md"]
    small = PathIndex.build(small_paths)
    small.prime(globs)
    assert small.best(globs[:1]) == ("Dockerfile", 1, False)
    assert not pathscan._cache  # `readiness check` on a small checkout compiles nothing
    big = PathIndex.build([f"pkg{i}/README.md" for i in range(1000)])
    big.prime(globs)
    assert len(pathscan._cache) == 1 and big.candidates(globs[1:2], 2) == (
        ["pkg0/README.md", "pkg1/README.md"],
        True,
    )
    again = PathIndex.build(small_paths)
    again.prime(globs)  # compiled now: the filter serves small trees too
    assert again.matching_files(globs[1:]) == ["README.md", "docs/adr/0001-x.md"]


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_threads_share_a_compiled_filter_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    # the bot evaluates repositories in worker threads; Hyperscan scratch space is per thread
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(pathscan, "MIN_PATHS", 0)
    monkeypatch.setattr(pathscan, "enabled", True)
    texts = ["Dockerfile", "*.md", "docs/adr/*.md", "**/runbook*", "*_test.go", "Chart.yaml"]
    globs = [compile_glob(t) for t in texts]
    trees = [realistic_tree(random.Random(seed), 1500) for seed in range(8)]

    def answer(paths: list[str]) -> list[list[str]]:
        index = PathIndex.build(paths)
        index.prime(globs)
        return [index.matching_files([g]) for g in globs]

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(answer, trees * 3))
    for paths, got in zip(trees * 3, answers, strict=True):
        assert got == [naive_files(paths, t) for t in texts]


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_when_hyperscan_refuses_most_globs_the_python_index_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. a CPU Hyperscan does not support: every compile fails
    monkeypatch.setattr(pathscan, "enabled", True)
    monkeypatch.setattr(pathscan, "MIN_PATHS", 0)
    monkeypatch.setattr(pathscan, "_cache", pathscan.OrderedDict())
    compiles = []
    monkeypatch.setattr(pathscan, "_database", lambda expressions: compiles.append(len(expressions)))
    paths = realistic_tree(random.Random(6), 2000)
    texts = ["*.md", "Dockerfile", "docs/adr/*.md", "**/runbook*", "*.go", "Chart.yaml", "*.tf", "a/", "b/"]
    globs = [compile_glob(t) for t in texts]
    for _ in range(2):
        index = PathIndex.build(paths)
        index.prime(globs)
        assert [index.matching_files([g]) for g in globs] == [naive_files(paths, t) for t in texts]
    assert pathscan.block_filter(globs) is None
    assert compiles.count(len(texts)) == 1  # the refusal is remembered, not retried every sync


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_many_small_ignore_sets_do_not_evict_the_checklists_compiled_globs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pathscan, "enabled", True)
    monkeypatch.setattr(pathscan, "_cache", pathscan.OrderedDict())
    checklist = [compile_glob(f"*.ext{i}") for i in range(pathscan._LARGE)]
    compiled = pathscan.block_filter(checklist)
    for i in range(2 * pathscan._CACHE_SIZE):  # one repository's `ignore:` after another
        pathscan.block_filter([compile_glob(f"generated{i}/"), compile_glob("vendor/")])
    assert pathscan.block_filter(checklist, compile=False) is compiled
    assert len(pathscan._cache) <= pathscan._CACHE_SIZE


@pytest.mark.parametrize(
    "text",
    [
        "client.js",
        "*client*.js",
        "*.js",
        "client*",
        "*client*",
        "c*t.js",
        "cl*nt*.js",
        "*nt.js*",
        "**/*.js",
        "c*c",
    ],
)
def test_name_tests_agree_with_the_regex_through_directories_too(text: str, engine: str) -> None:
    # decided on the file name, except where a directory named like the glob holds the file
    paths = [
        "client.js", "a/client.js", "node_modules/client-3/index.js", "x/client.js/a.txt",
        "x/my-client.js/b/c.py", "clientjs", "a/cli.js", "client.jsx", "b/client/x.js", "cnt.js",
        "a/clnt.js", "ab.js/client", "y/ct.js", "deep/er/z-client-q.js", "c", "cc", "x/c.c/y", "d/cac",
    ]  # fmt: skip
    index = PathIndex.build(paths)
    index.prime([compile_glob(text)])
    assert index.matching_files([compile_glob(text)]) == naive_files(paths, text)


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_hiding_vendored_directories_agrees_with_the_regex() -> None:
    # `ignore_vendored` tests the names of directories with substring tests, not a regex per path
    paths = [
        "node_modules/a/index.js", "web/node_modules/b/x.js", "node_modules", "a/node_modules",
        "xnode_modules/a.js", "a/node_modules_old/b.js", "vendor/github.com/x/y.go", "src/vendor.go",
        "deep/er/vendor/z", ".venv/lib/site-packages/p.py", "venv", "Pods/x", "a/pods/x",
    ]  # fmt: skip
    texts = ["node_modules/", "vendor/", ".venv/", "site-packages/", "Pods/", "venv/"]
    found = matching_any(paths, [compile_glob(t) for t in texts])
    assert found == {p for t in texts for p in naive_files(paths, t)}
    assert "a/node_modules" not in found and "a/pods/x" not in found
