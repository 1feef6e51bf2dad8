"""One parser per manifest format: text in, declared package names out (raising on bad input).

Formats with a grammar go through a real parser; Gemfile, *.gemspec, mix.exs, build.gradle(.kts)
and yarn.lock have none outside their own language, so a line tokenizer reads the one statement
shape that declares a dependency there (`gem "x"`, `{:x, "~> 1"}`, `implementation("g:a:v")`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import defusedxml.ElementTree as SafeET
import yaml
from packaging.requirements import InvalidRequirement, Requirement

Names = list[str]


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def kind_of(path: str) -> tuple[str, str] | None:
    """(ecosystem, format) of a manifest, from its file name."""
    name = _name(path)
    lower = name.lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    if lower.startswith("requirements") and lower.endswith((".txt", ".in")):
        return "pypi", "requirements"
    if "/requirements/" in f"/{path}" and lower.endswith((".txt", ".in")):
        return "pypi", "requirements"
    if lower.endswith(".gemspec"):
        return "rubygems", "gemfile"
    if lower.endswith((".csproj", ".fsproj", ".vbproj", ".props")) or lower == "packages.config":
        return "nuget", "msbuild"
    return None


# ----------------------------------------------------------------- Python


def _requirement(line: str) -> str | None:
    line = line.split(" #", 1)[0].split(" --", 1)[0].split(" -", 1)[0].strip()
    if not line or line.startswith(("#", "-", "--")) or "://" in line.split(" ", 1)[0]:
        return None
    try:
        return Requirement(line).name
    except InvalidRequirement:
        return None  # pip options, paths, VCS URLs: not a named requirement


def requirements(text: str) -> Names:
    joined = text.replace("\\\n", " ")
    return [n for n in map(_requirement, joined.splitlines()) if n]


def _reqs(items: object) -> Names:
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        return []
    return [n for n in (_requirement(i) for i in items if isinstance(i, str)) if n]


def _table_keys(table: object) -> Names:
    return [k for k in table if k.lower() != "python"] if isinstance(table, dict) else []


def pyproject(text: str) -> Names:
    data = tomllib.loads(text)
    names: Names = []
    project = data.get("project", {})
    names += _reqs(project.get("dependencies", []))
    for group in (project.get("optional-dependencies") or {}).values():
        names += _reqs(group)
    for group in (data.get("dependency-groups") or {}).values():  # PEP 735 / uv
        names += _reqs([g for g in group if isinstance(g, str)] if isinstance(group, list) else [])
    tool = data.get("tool", {})
    poetry = tool.get("poetry", {})
    names += _table_keys(poetry.get("dependencies"))
    names += _table_keys(poetry.get("dev-dependencies"))
    for group in (poetry.get("group") or {}).values():
        names += _table_keys(group.get("dependencies") if isinstance(group, dict) else None)
    pdm = tool.get("pdm", {})
    for group in (pdm.get("dev-dependencies") or {}).values():
        names += _reqs(group)
    uv = tool.get("uv", {})
    names += _reqs(uv.get("dev-dependencies", []))
    return names


def setup_cfg(text: str) -> Names:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    names: Names = []
    if parser.has_option("options", "install_requires"):
        names += requirements(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            names += requirements(value)
    return names


def pipfile(text: str) -> Names:
    data = tomllib.loads(text)
    return _table_keys(data.get("packages")) + _table_keys(data.get("dev-packages"))


def toml_packages(text: str) -> Names:
    """poetry.lock, uv.lock and Cargo.lock: `[[package]]` tables with a `name`."""
    data = tomllib.loads(text)
    return [
        p["name"] for p in data.get("package", []) if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]


# ----------------------------------------------------------------- JavaScript


_NPM_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")


def package_json(text: str) -> Names:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return [k for s in _NPM_SECTIONS if isinstance(data.get(s), dict) for k in data[s]]


def package_lock(text: str) -> Names:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    names = [p.rsplit("node_modules/", 1)[-1] for p in data.get("packages") or {} if p]
    return names + list(data.get("dependencies") or {})


_YARN_ENTRY = re.compile(r'^"?(@?[^@"\s,][^@"\s,]*)@')


def yarn_lock(text: str) -> Names:
    names: Names = []
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            for spec in line.rstrip(":").split(","):
                match = _YARN_ENTRY.match(spec.strip())
                if match:
                    names.append(match.group(1))
    return names


def _pnpm_name(key: str) -> str:
    key = key.lstrip("/")
    at = key.find("@", 1)
    return key[:at] if at > 0 else key.split("/", 1)[0]


def pnpm_lock(text: str) -> Names:
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("expected a YAML mapping")
    names: Names = []
    for importer in (data.get("importers") or {"": data}).values():
        if isinstance(importer, dict):
            for section in _NPM_SECTIONS:
                if isinstance(importer.get(section), dict):
                    names += list(importer[section])
    names += [_pnpm_name(k) for k in data.get("packages") or {} if isinstance(k, str)]
    return names


# ----------------------------------------------------------------- tokenised formats

_STRING = r"""['"]([^'"\s]+)['"]"""
_GEM = re.compile(
    r"^\s*(?:gem|s\.add_(?:runtime_|development_)?dependency|spec\.add_(?:runtime_|development_)?dependency)\s*\(?\s*"
    + _STRING
)
_GEM_LOCK = re.compile(r"^    ([A-Za-z0-9_.-]+) \(")
_MIX_DEP = re.compile(r"\{\s*:([a-z_][a-z0-9_]*)\s*,")
_MIX_LOCK = re.compile(r'^\s*"([a-z_][a-z0-9_]*)"\s*:')


def _code_lines(text: str, comment: str) -> Iterator[str]:
    for line in text.splitlines():
        stripped = line.lstrip()
        if not stripped.startswith(comment):
            yield line


def gemfile(text: str) -> Names:
    return [m.group(1) for m in map(_GEM.match, _code_lines(text, "#")) if m]


def gemfile_lock(text: str) -> Names:
    names: Names = []
    section = ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.strip()
        elif section in ("GEM", "PATH", "GIT") and (m := _GEM_LOCK.match(line)):
            names.append(m.group(1))
    return names


def mix_exs(text: str) -> Names:
    """The tuples inside `defp deps do [...] end` (or any `deps` function)."""
    names: Names = []
    inside = False
    for line in _code_lines(text, "#"):
        stripped = line.strip()
        if re.match(r"defp?\s+deps\b", stripped):
            inside = True
        elif inside and re.match(r"defp?\s", stripped):
            inside = False
        if inside:
            names += _MIX_DEP.findall(line)
    return names


def mix_lock(text: str) -> Names:
    return [m.group(1) for m in map(_MIX_LOCK.match, text.splitlines()) if m]


# a dependency configuration: the standard ones and every source set's (`testImplementation`,
# `testFixturesApi`, `integrationTestRuntimeOnly`, `androidTestImplementation`, `kaptTest` ...)
_GRADLE_CONFIG = (
    r"\b(implementation|api|compileOnly|runtimeOnly|kapt|ksp|annotationProcessor|compile|runtime|"
    r"developmentOnly|[a-z][A-Za-z0-9]*(?:Implementation|Api|CompileOnly|RuntimeOnly|AnnotationProcessor|"
    r"Compile|Runtime)|kapt[A-Z]\w*|ksp[A-Z]\w*)"
)
_GRADLE_STRING = re.compile(_GRADLE_CONFIG + r"""\s*\(?\s*(?:platform\s*\(\s*)?['"]([^'":\s]+):([^'":\s]+)""")
_GRADLE_MAP = re.compile(
    _GRADLE_CONFIG + r"""\s*\(?\s*group\s*[:=]\s*['"]([^'"]+)['"]\s*,\s*name\s*[:=]\s*['"]([^'"]+)['"]"""
)
# a reference into the version catalog: `testImplementation(libs.junit.jupiter)`, `api libs.bundles.ktor`
_GRADLE_CATALOG_REF = re.compile(_GRADLE_CONFIG + r"""\s*\(?\s*(?:platform\s*\(\s*)?libs\.([A-Za-z0-9_.]+)""")
# configurations of tests (test source sets, test fixtures, Android instrumented tests): not production
_GRADLE_TEST_CONFIG = re.compile(r"^(?:test|\w*Test)(?:[A-Z]|$)")


def _gradle_declarations(text: str) -> Iterator[tuple[str, str]]:
    """(configuration, group:artifact) of every dependency declared with coordinates."""
    for line in _code_lines(text, "//"):
        for regex in (_GRADLE_STRING, _GRADLE_MAP):
            for config, group, artifact in regex.findall(line):
                yield config, f"{group}:{artifact}"


def gradle(text: str) -> Names:
    return [name for _, name in _gradle_declarations(text)]


def gradle_dev(text: str) -> Names:
    """Coordinates declared only in test configurations (`testImplementation`, `testFixturesApi`...)."""
    test: set[str] = set()
    prod: set[str] = set()
    for config, name in _gradle_declarations(text):
        (test if _GRADLE_TEST_CONFIG.match(config) else prod).add(name)
    return sorted(test - prod)


def catalog_alias(accessor: str) -> str:
    """The accessor Gradle generates for an alias: `junit-jupiter`, `junit_jupiter` -> `junit.jupiter`."""
    alias = re.sub(r"[-_.]+", ".", accessor.lower()).strip(".")
    return alias[: -len(".get")] if alias.endswith(".get") else alias


def gradle_catalog_refs(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Catalog accessors a build file uses: (in production configurations, in test ones only)."""
    test: set[str] = set()
    prod: set[str] = set()
    for line in _code_lines(text, "//"):
        for config, accessor in _GRADLE_CATALOG_REF.findall(line):
            (test if _GRADLE_TEST_CONFIG.match(config) else prod).add(catalog_alias(accessor))
    return frozenset(prod), frozenset(test - prod)


def _catalog_coordinates(entry: object) -> str | None:
    if isinstance(entry, str):
        return ":".join(entry.split(":")[:2])
    if isinstance(entry, dict):
        if isinstance(entry.get("module"), str):
            return str(entry["module"])
        if isinstance(entry.get("group"), str) and isinstance(entry.get("name"), str):
            return f"{entry['group']}:{entry['name']}"
    return None


def version_catalog(text: str) -> Names:
    return [n for n in map(_catalog_coordinates, (tomllib.loads(text).get("libraries") or {}).values()) if n]


def catalog_aliases(text: str) -> dict[str, tuple[str, ...]]:
    """Accessor -> the coordinates it brings (`libs.x` one library, `libs.bundles.x` several)."""
    data = tomllib.loads(text)
    libraries = data.get("libraries") or {}
    aliases: dict[str, tuple[str, ...]] = {}
    for alias, entry in libraries.items() if isinstance(libraries, dict) else ():
        name = _catalog_coordinates(entry)
        if name:
            aliases[catalog_alias(alias)] = (name,)
    bundles = data.get("bundles") or {}
    for alias, members in bundles.items() if isinstance(bundles, dict) else ():
        if isinstance(members, list):
            names = [_catalog_coordinates(libraries.get(m)) for m in members if isinstance(m, str)]
            aliases["bundles." + catalog_alias(alias)] = tuple(n for n in names if n)
    return aliases


def go_mod(text: str) -> Names:
    """Direct requirements only: `// indirect` lines are other modules' dependencies, not a choice
    of this one (since Go 1.17 go.mod lists every module the build needs)."""
    names: Names = []
    block = False
    for raw in text.splitlines():
        line, _, comment = (part.strip() for part in raw.partition("//"))
        if comment.startswith("indirect"):
            continue
        if block:
            if line == ")":
                block = False
            elif line:
                names.append(line.split()[0])
        elif line.startswith("require"):
            rest = line[len("require") :].strip()
            if rest == "(":
                block = True
            elif rest:
                names.append(rest.split()[0])
    return names


# ----------------------------------------------------------------- structured formats


def cargo_toml(text: str) -> Names:
    data = tomllib.loads(text)
    names: Names = []

    def tables(root: dict[str, Any]) -> Iterable[object]:
        for key in ("dependencies", "dev-dependencies", "build-dependencies"):
            yield root.get(key)
        for target in (root.get("target") or {}).values():
            if isinstance(target, dict):
                yield from tables(target)

    roots = [data, (data.get("workspace") or {})]
    for root in roots:
        for table in tables(root):
            names += _cargo_names(table)
    return names


def _cargo_names(table: object) -> Names:
    """A dependency table's package names: `foo = { package = "real-name" }` renames."""
    if not isinstance(table, dict):
        return []
    real = (spec.get("package") if isinstance(spec, dict) else None for spec in table.values())
    return [r if isinstance(r, str) else key for key, r in zip(table, real, strict=True)]


def composer(text: str) -> Names:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    names = [k for s in ("require", "require-dev") if isinstance(data.get(s), dict) for k in data[s]]
    for section in ("packages", "packages-dev"):  # composer.lock
        names += [
            p["name"]
            for p in data.get(section) or []
            if isinstance(p, dict) and isinstance(p.get("name"), str)
        ]
    return [n for n in names if "/" in n]  # `php`, `ext-json`: platform, not packages


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def pom(text: str) -> Names:
    root = SafeET.fromstring(text)
    names: Names = []
    for node in root.iter():
        if _local(node.tag) in ("dependency", "plugin"):
            fields = {_local(c.tag): (c.text or "").strip() for c in node}
            group = fields.get("groupId") or (
                "org.apache.maven.plugins" if _local(node.tag) == "plugin" else ""
            )
            if group and fields.get("artifactId"):
                names.append(f"{group}:{fields['artifactId']}")
    return names


def pom_dev(text: str) -> Names:
    """Dependencies declared only with `<scope>test</scope>` (`provided` is supplied by the
    runtime container, so it is production)."""
    test: set[str] = set()
    prod: set[str] = set()
    for node in SafeET.fromstring(text).iter():
        if _local(node.tag) == "dependency":
            fields = {_local(c.tag): (c.text or "").strip() for c in node}
            if fields.get("groupId") and fields.get("artifactId"):
                name = f"{fields['groupId']}:{fields['artifactId']}"
                (test if fields.get("scope") == "test" else prod).add(name)
    return sorted(test - prod)


def msbuild(text: str) -> Names:
    """*.csproj, Directory.Packages.props and packages.config."""
    root = SafeET.fromstring(text)
    names: Names = []
    for node in root.iter():
        if _local(node.tag) in ("PackageReference", "PackageVersion", "package"):
            name = node.get("Include") or node.get("Update") or node.get("id")
            if name:
                names.append(name)
    return names


# an MSBuild test project by its name (`Shop.Tests.csproj`, `Shop.IntegrationTests.csproj`)
_TEST_PROJECT_NAME = re.compile(
    r"[.-](?:Tests?|UnitTests?|IntegrationTests?|FunctionalTests?|AcceptanceTests?|Specs?)\.(?:cs|fs|vb)proj$",
    re.IGNORECASE,
)
_TEST_PROJECT_DIRS = frozenset({"test", "tests"})


def msbuild_test_project(path: str, text: str) -> bool:
    """A `*.csproj` (`.fsproj`, `.vbproj`) of tests: `<IsTestProject>true`, a name ending `.Tests`
    and the like, or a place under `test/` or `tests/`. Central versions files are no project."""
    if not path.lower().endswith("proj"):
        return False
    if _TEST_PROJECT_NAME.search(_name(path)) or _TEST_PROJECT_DIRS.intersection(path.split("/")[:-1]):
        return True
    root = SafeET.fromstring(text)
    return any(
        _local(node.tag) == "IsTestProject" and (node.text or "").strip().lower() == "true"
        for node in root.iter()
    )


# ----------------------------------------------------------------- dev/test-only declarations
# What a format declares for development or tests only (it still counts for tooling items, whose
# rules say `scope: any`): a `dependency` rule of the default `code` scope skips these names.


def pyproject_dev(text: str) -> Names:
    data = tomllib.loads(text)
    names: Names = []
    for group in (data.get("dependency-groups") or {}).values():  # PEP 735 / uv
        names += _reqs([g for g in group if isinstance(g, str)] if isinstance(group, list) else [])
    tool = data.get("tool", {})
    poetry = tool.get("poetry", {})
    names += _table_keys(poetry.get("dev-dependencies"))
    for name, group in (poetry.get("group") or {}).items():
        if isinstance(group, dict) and name != "main":
            names += _table_keys(group.get("dependencies"))
    for group in (tool.get("pdm", {}).get("dev-dependencies") or {}).values():
        names += _reqs(group)
    return names + _reqs(tool.get("uv", {}).get("dev-dependencies", []))


def pipfile_dev(text: str) -> Names:
    return _table_keys(tomllib.loads(text).get("dev-packages"))


def package_json_dev(text: str) -> Names:
    data = json.loads(text)
    dev = data.get("devDependencies") if isinstance(data, dict) else None
    return list(dev) if isinstance(dev, dict) else []


_GEM_GROUP = re.compile(r"^\s*group\s*\(?\s*(.*?)\)?\s+do\b")
_GEM_INLINE_GROUP = re.compile(r"\bgroups?:\s*(\[[^\]]*\]|:\w+|%i\[[^\]]*\])")
_NOT_PROD = ("development", "test")
_BLOCK_START = re.compile(r"\bdo\s*(?:\|[^|]*\|)?\s*$")


def _dev_groups(spec: str) -> bool:
    words = re.findall(r"\w+", spec)
    return bool(words) and all(w in _NOT_PROD or w == "i" for w in words)


def gemfile_dev(text: str) -> Names:
    """Gems inside `group :development, :test do ... end` or with `group: :test` (no production)."""
    names: Names = []
    depth_dev: list[bool] = []
    for line in _code_lines(text, "#"):
        if m := _GEM_GROUP.match(line):
            depth_dev.append(_dev_groups(m.group(1)))
            continue
        if _BLOCK_START.search(line):  # `platforms :jruby do`: inherits the group around it
            depth_dev.append(bool(depth_dev) and depth_dev[-1])
            continue
        if re.match(r"^\s*end\b", line) and depth_dev:
            depth_dev.pop()
            continue
        gem = _GEM.match(line)
        if gem is None:
            continue
        inline = _GEM_INLINE_GROUP.search(line)
        if (depth_dev and depth_dev[-1]) or (inline is not None and _dev_groups(inline.group(1))):
            names.append(gem.group(1))
    return names


_MIX_ONLY = re.compile(r"\bonly:\s*(\[[^\]]*\]|:\w+)")


_MIX_TUPLE = re.compile(r"\{\s*:([a-z_][a-z0-9_]*)\s*,[^{}]*\}")


def mix_exs_dev(text: str) -> Names:
    """Deps with `only: :test` / `only: [:dev, :test]` (no :prod), one tuple at a time."""
    names: Names = []
    for line in _code_lines(text, "#"):
        for tuple_ in _MIX_TUPLE.finditer(line):
            only = _MIX_ONLY.search(tuple_.group(0))
            if only is not None and "prod" not in only.group(1):
                names.append(tuple_.group(1))
    return names


def cargo_dev(text: str) -> Names:
    data = tomllib.loads(text)
    names: Names = []
    roots = [data, *((data.get("target") or {}).values())]
    for root in roots:
        if isinstance(root, dict):
            for key in ("dev-dependencies", "build-dependencies"):
                names += _cargo_names(root.get(key))
    return names


def composer_dev(text: str) -> Names:
    data = json.loads(text)
    if not isinstance(data, dict):
        return []
    names = list(data["require-dev"]) if isinstance(data.get("require-dev"), dict) else []
    names += [
        p["name"]
        for p in data.get("packages-dev") or []
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]
    return names


DEV_PARSERS: dict[str, Callable[[str], Names]] = {
    "pyproject": pyproject_dev,
    "Pipfile": pipfile_dev,
    "package.json": package_json_dev,
    "gemfile": gemfile_dev,
    "mix.exs": mix_exs_dev,
    "Cargo.toml": cargo_dev,
    "composer": composer_dev,
    "pom.xml": pom_dev,
    "gradle": gradle_dev,
}

# lock files, and the manifest beside them that declares what was chosen: where that manifest
# exists, the lock file's extra names are other packages' dependencies (transitive), not choices
LOCK_OF: dict[str, str] = {
    "poetry.lock": "pyproject.toml",
    "uv.lock": "pyproject.toml",
    "package-lock.json": "package.json",
    "npm-shrinkwrap.json": "package.json",
    "yarn.lock": "package.json",
    "pnpm-lock.yaml": "package.json",
    "Gemfile.lock": "Gemfile",
    "mix.lock": "mix.exs",
    "Cargo.lock": "Cargo.toml",
    "composer.lock": "composer.json",
}


PARSERS: dict[str, Callable[[str], Names]] = {
    "requirements": requirements,
    "pyproject": pyproject,
    "setup.cfg": setup_cfg,
    "Pipfile": pipfile,
    "toml-lock": toml_packages,
    "package.json": package_json,
    "package-lock": package_lock,
    "yarn.lock": yarn_lock,
    "pnpm-lock": pnpm_lock,
    "gemfile": gemfile,
    "Gemfile.lock": gemfile_lock,
    "mix.exs": mix_exs,
    "mix.lock": mix_lock,
    "go.mod": go_mod,
    "Cargo.toml": cargo_toml,
    "pom.xml": pom,
    "gradle": gradle,
    "version-catalog": version_catalog,
    "composer": composer,
    "msbuild": msbuild,
}

_BY_NAME: dict[str, tuple[str, str]] = {
    "pyproject.toml": ("pypi", "pyproject"),
    "setup.cfg": ("pypi", "setup.cfg"),
    "Pipfile": ("pypi", "Pipfile"),
    "poetry.lock": ("pypi", "toml-lock"),
    "uv.lock": ("pypi", "toml-lock"),
    "package.json": ("npm", "package.json"),
    "package-lock.json": ("npm", "package-lock"),
    "npm-shrinkwrap.json": ("npm", "package-lock"),
    "yarn.lock": ("npm", "yarn.lock"),
    "pnpm-lock.yaml": ("npm", "pnpm-lock"),
    "Gemfile": ("rubygems", "gemfile"),
    "Gemfile.lock": ("rubygems", "Gemfile.lock"),
    "mix.exs": ("hex", "mix.exs"),
    "mix.lock": ("hex", "mix.lock"),
    "go.mod": ("go", "go.mod"),
    "Cargo.toml": ("cargo", "Cargo.toml"),
    "Cargo.lock": ("cargo", "toml-lock"),
    "pom.xml": ("maven", "pom.xml"),
    "build.gradle": ("maven", "gradle"),
    "build.gradle.kts": ("maven", "gradle"),
    "libs.versions.toml": ("maven", "version-catalog"),
    "composer.json": ("packagist", "composer"),
    "composer.lock": ("packagist", "composer"),
}
