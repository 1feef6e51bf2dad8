"""Which files declare dependencies, how each ecosystem spells a package name, and the dispatcher.

Parsers are pure functions of (path, bytes): the rule engine reads the bytes through the snapshot's
reader and a malformed manifest becomes an evidence-free result with a warning, never an exception.
Real parsers are used wherever the format has one (tomllib, json, packaging, defusedxml, PyYAML);
the formats without one (Gemfile, mix.exs, build.gradle, yarn.lock) are read by a line tokenizer
that runs in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

ECOSYSTEMS = ("pypi", "npm", "rubygems", "hex", "go", "cargo", "maven", "packagist", "nuget")

# file globs (gitignore semantics: a bare name matches at any depth) per ecosystem
MANIFEST_GLOBS: dict[str, tuple[str, ...]] = {
    "pypi": (
        "pyproject.toml",
        "requirements*.txt",
        "requirements*.in",
        "requirements/*.txt",
        "requirements/*.in",
        "setup.cfg",
        "Pipfile",
        "poetry.lock",
        "uv.lock",
    ),
    "npm": ("package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml"),
    "rubygems": ("Gemfile", "Gemfile.lock", "*.gemspec"),
    "hex": ("mix.exs", "mix.lock"),
    "go": ("go.mod",),
    "cargo": ("Cargo.toml", "Cargo.lock"),
    "maven": ("pom.xml", "build.gradle", "build.gradle.kts", "libs.versions.toml"),
    "packagist": ("composer.json", "composer.lock"),
    "nuget": ("*.csproj", "*.fsproj", "*.vbproj", "Directory.Packages.props", "packages.config"),
}

_GO_MAJOR = re.compile(r"/v[0-9]+$")


def normalise(ecosystem: str, name: str) -> str:
    """A package name the way its registry compares names (PEP 503, npm scopes, Go modules...)."""
    name = name.strip()
    if ecosystem == "pypi":
        return canonicalize_name(name)
    if ecosystem == "go":
        return _GO_MAJOR.sub("", name)  # module paths are case-sensitive; /v2 is the same module
    if ecosystem == "cargo":
        return name.lower().replace("_", "-")
    return name.lower()  # npm (@scope/name), rubygems, hex, maven group:artifact, packagist, nuget


@dataclass(frozen=True, slots=True)
class Manifest:
    """The packages one file declares: normalised name -> (name as written, 1-based line)."""

    path: str
    ecosystem: str
    packages: dict[str, tuple[str, int]] = field(default_factory=dict)
    warning: str | None = None
    dev: frozenset[str] = frozenset()  # normalised names declared for development or tests only
    # Gradle: version-catalog accessors a build file uses, in production / only in test configurations
    catalog_refs: frozenset[str] = frozenset()
    catalog_test_refs: frozenset[str] = frozenset()
    # a version catalog: accessor (`junit.jupiter`, `bundles.ktor`) -> normalised names it brings
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # MSBuild: a test project (every package it references is for tests), or a central versions
    # file (`Directory.Packages.props`: versions only; the projects referencing a package decide)
    test_project: bool = False
    central_versions: bool = False


def _line_of(text: str, name: str) -> int:
    at = text.find(name)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def parse_manifest(path: str, data: bytes) -> Manifest | None:
    """Parse one manifest; None when `path` is no manifest we know. Never raises on bad input."""
    from bot.core.manifests.parsers import (
        DEV_PARSERS,
        PARSERS,
        catalog_aliases,
        gradle_catalog_refs,
        kind_of,
        msbuild_test_project,
    )

    kind = kind_of(path)
    if kind is None:
        return None
    ecosystem, fmt = kind
    try:
        text = data.decode("utf-8-sig")
        names = PARSERS[fmt](text)
        dev_names = DEV_PARSERS[fmt](text) if fmt in DEV_PARSERS else []
        refs, test_refs = gradle_catalog_refs(text) if fmt == "gradle" else (frozenset(), frozenset())
        aliases = catalog_aliases(text) if fmt == "version-catalog" else {}
        test_project = fmt == "msbuild" and msbuild_test_project(path, text)
    except Exception as exc:  # any parser failure is the manifest's fault: reported
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return Manifest(path, ecosystem, {}, f"`{path}` could not be parsed as {fmt} ({reason}); ignored")
    packages: dict[str, tuple[str, int]] = {}
    for name in names:
        if not isinstance(name, str) or not name.strip():
            continue
        key = normalise(ecosystem, name)
        if key not in packages:
            packages[key] = (name.strip(), _line_of(text, name.strip()))
    dev = frozenset(normalise(ecosystem, n) for n in dev_names if isinstance(n, str) and n.strip())
    if test_project:
        dev = frozenset(packages)
    return Manifest(
        path,
        ecosystem,
        packages,
        dev=dev,
        catalog_refs=refs,
        catalog_test_refs=test_refs,
        aliases={a: tuple(normalise(ecosystem, n) for n in names) for a, names in aliases.items()},
        test_project=test_project,
        central_versions=fmt == "msbuild" and _name_of(path) == "Directory.Packages.props",
    )


def _name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]
