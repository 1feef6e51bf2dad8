"""Where evidence may come from: production code, tests, docs, or anywhere.

A claim about the running service ("shuts down gracefully", "times out external calls") is only
evidence when it sits in production code: a benchmark sending SIGTERM or a test using
an encrypted-connection flag says nothing about the service. The directory and file-name conventions below
cover the major ecosystems; `.readiness.yml` `scopes:` adds globs to any of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import add, and_, eq, is_, itemgetter, methodcaller
from typing import Literal, cast

from bot.core.globs import Glob, compile_glob

SCOPES = ("code", "tests", "docs", "any")
# the kinds a repository may add globs to (`scopes:` in .readiness.yml)
ScopeKind = Literal["tests", "docs", "excluded", "code"]
DEFAULT_SCOPE = "code"
# the default of a rule naming documentation files among others (never written in a rule): its
# docs globs may match docs, its other globs production code
CODE_AND_DOCS = "code+docs"
# the kinds of file (see `Scopes.kind`) each scope lets evidence come from
SCOPE_KINDS: dict[str, frozenset[str]] = {
    "code": frozenset({"code"}),
    "tests": frozenset({"tests"}),
    "docs": frozenset({"docs"}),
    CODE_AND_DOCS: frozenset({"code", "docs"}),
    "any": frozenset({"code", "tests", "docs", "excluded"}),
}

# Dependency directories people commit (Go modules, npm, Composer, Bazel, Bower, CocoaPods,
# virtualenvs): their Dockerfiles, SECURITY.md files and tests belong to someone else.
VENDORED_DIRS = (
    "node_modules",
    "vendor",
    "third_party",
    "bower_components",
    "Pods",
    ".venv",
    "venv",
    "site-packages",
)

# directory names (any depth) per kind of non-production file
TEST_DIRS = frozenset(
    {
        "test",
        "tests",
        "spec",
        "specs",
        "__tests__",
        "testing",
        "e2e",
        "integration_tests",
        "androidTest",
        "testdata",
        "fixtures",
        "fixture",
        "__fixtures__",
        "__mocks__",
        "mocks",
        "test-utils",
        "testutils",
        "playwright",  # browser-test sub-projects, with their own package.json and lock file
        "cypress",
    }
)
BENCH_DIRS = frozenset({"bench", "benches", "benchmark", "benchmarks", "perf", "loadtest", "loadtests"})
# developer tooling beside the service: scripts it does not run, and the development environment
# (`.devcontainer/` Dockerfile and compose files build the contributor's box, not the product)
TOOL_DIRS = frozenset({"tools", ".devcontainer"})
EXAMPLE_DIRS = frozenset({"example", "examples", "sample", "samples", "demo", "demos", "playground"})
DOC_DIRS = frozenset({"docs", "doc", "documentation", "wiki", "website", "site", "guides"})
# `.txt` is not among them: requirements*.txt, CMakeLists.txt and robots.txt are not prose
DOC_EXTS = (".md", ".mdx", ".rst", ".adoc", ".asciidoc")
# test file names: pytest, Go, Jest/Vitest, RSpec, ExUnit, JUnit, xUnit/NUnit, PHPUnit, Rust
TEST_FILE = re.compile(
    r"(?:^test_.*\.py|.*_test\.(?:py|go|exs|rb|dart)|.*\.(?:test|spec)\.[cm]?[jt]sx?|.*_spec\.rb"
    r"|.*(?:Test|Tests|IT|Spec)\.(?:java|kt|scala|cs|php|groovy)|conftest\.py)$"
)


@dataclass(frozen=True)
class Scopes:
    """The conventions, plus globs a repository adds per scope (`tests`, `docs`, `excluded`)."""

    extra: Mapping[str, tuple[Glob, ...]] = field(default_factory=dict)
    # per-path answers: one evaluation asks about the same candidates for hundreds of rules
    memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    strong: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # per-directory part of the answer: a tree has a few thousand directories for 100,000 files
    dirs: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: Mapping[ScopeKind, Sequence[str]] | None) -> Scopes:
        return cls({k: tuple(compile_glob(g) for g in v) for k, v in (config or {}).items()})

    def kind(self, path: str) -> str:
        """`tests`, `docs`, `excluded` (benchmarks, examples) or `code`."""
        known = self.memo.get(path)
        if known is None:
            known = self.memo[path] = self._kind(path)
        return known

    def kinds(self, paths: Sequence[str]) -> list[str]:
        """`kind` of many paths: one C-level memo lookup each, classifying only the new ones (at C
        speed too, unless the repository added globs: a Python call per path cost more than the
        index's lookups)."""
        found = list(map(self.memo.get, paths))
        if None in found:
            new = list(compress(paths, map(is_, found, repeat(None))))
            if any(self.extra.values()):
                self.memo.update(zip(new, map(self._kind, new), strict=True))
            else:
                self.memo.update(zip(new, self._conventional(new), strict=True))
            found = list(map(self.memo.__getitem__, paths))
        return cast(list[str], found)

    def _conventional(self, paths: list[str]) -> list[str]:
        """`_kind` of paths by the conventions alone, as chains of `map` (no call per path)."""
        parts = list(map(_SPLIT, paths))
        directories = list(map(itemgetter(0), parts))
        names = list(map(itemgetter(2), parts))
        dirs = self.dirs
        for directory in set(directories).difference(dirs):
            dirs[directory] = _dir_kind(directory)
        tests = map(bool, map(TEST_FILE.match, names))
        docs = map(_DOC_END, map(str.lower, names))
        return list(
            map(_KIND_OF.__getitem__, zip(map(dirs.__getitem__, directories), tests, docs, strict=True))
        )

    def _kind(self, path: str) -> str:
        for name in ("tests", "docs", "excluded", "code"):
            for glob in self.extra.get(name, ()):
                if _matches(glob, path):
                    return name
        directory, _, file = path.rpartition("/")
        where = self.dirs.get(directory)
        if where is None:
            where = self.dirs[directory] = _dir_kind(directory)
        if where == "tests" or TEST_FILE.match(file):
            return "tests"
        if where == "excluded":
            return "excluded"
        if where == "docs" or file.lower().endswith(DOC_EXTS):
            return "docs"
        return "code"

    def strengths(self, paths: Sequence[str]) -> list[int]:
        """`strength` of many paths (lower is stronger), memoised like `kinds`."""
        found = list(map(self.strong.get, paths))
        if None in found:
            new = list(compress(paths, map(is_, found, repeat(None))))
            kinds = self.kinds(new)
            config = map(_CONFIG_END, map(str.lower, new))
            code = map(eq, kinds, repeat("code"))  # code: 1 for configuration, else 0
            ranks = map(add, map(_STRENGTH.__getitem__, kinds), map(and_, code, config))
            self.strong.update(zip(new, ranks, strict=True))
            found = list(map(self.strong.__getitem__, paths))
        return cast(list[int], found)

    def allows(self, scope: str, path: str) -> bool:
        return scope == "any" or self.kind(path) in SCOPE_KINDS[scope]


def _dir_kind(directory: str) -> str:
    """What a file's directories alone make it: `tests`, `excluded`, `docs`, or "" (its name decides)."""
    dirs = directory.split("/") if directory else []
    if any(d in TEST_DIRS for d in dirs):
        return "tests"
    if any(d in BENCH_DIRS or d in EXAMPLE_DIRS or d in TOOL_DIRS for d in dirs):
        return "excluded"
    if any(d in DOC_DIRS for d in dirs):
        return "docs"
    return ""


def _matches(glob: Glob, path: str) -> bool:
    parts = path.split("/")
    return any(glob.regex.match("/".join(parts[:i]) + "/") for i in range(1, len(parts))) or bool(
        glob.regex.match(path)
    )


# how strong a piece of evidence is by where it sits: code over config over docs
_CONFIG_EXTS = (".yml", ".yaml", ".toml", ".json", ".ini", ".cfg", ".conf", ".env", ".properties", ".xml")


_CONFIG_END = methodcaller("endswith", _CONFIG_EXTS)
_STRENGTH = {"code": 0, "tests": 3, "docs": 2, "excluded": 4}


def strength(kind: str, path: str) -> int:
    """Lower is stronger."""
    if kind == "code":
        return 1 if path.lower().endswith(_CONFIG_EXTS) else 0
    return {"tests": 3, "docs": 2}.get(kind, 4)


_SPLIT = methodcaller("rpartition", "/")
_DOC_END = methodcaller("endswith", DOC_EXTS)


def _kind_of(directory: str, test_name: bool, doc_name: bool) -> str:
    """`Scopes._kind` from what a file's directories make it and what its name says."""
    if directory == "tests" or test_name:
        return "tests"
    if directory == "excluded":
        return "excluded"
    if directory == "docs" or doc_name:
        return "docs"
    return "code"


_KIND_OF = {
    (d, t, n): _kind_of(d, t, n)
    for d in ("tests", "excluded", "docs", "")
    for t in (False, True)
    for n in (False, True)
}
