"""Evidence rule syntax: the AST and its parser, shared by templates and `.readiness.yml`.

Parsing validates everything that could fail later (globs, RE2 patterns, caps), so a compiled
checklist never meets a user mistake at evaluation time. `bot.core.rules` re-exports all of this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import re2

from bot.core.errors import InputError, TemplateError
from bot.core.globs import GlobError, compile_glob
from bot.core.manifests import ECOSYSTEMS
from bot.core.scopes import CODE_AND_DOCS, DEFAULT_SCOPE, DOC_DIRS, DOC_EXTS, SCOPES
from bot.core.yamlload import Positions, format_path, suggest

DEFAULT_MAX_FILES = 1_000  # a window of candidate paths; bytes read are bounded by budgets (bot.core.rules)
DEFAULT_MAX_BYTES = 262_144
LIMIT_MAX_FILES = 10_000
LIMIT_MAX_BYTES = (
    1_048_576  # the one file size limit (bot.core.yamlload.MAX_FILE_BYTES): local and bot read alike
)
KINDS = ("files", "contains", "dependency", "ci", "all", "any", "not")
CONTAINS_KEYS = ("files", "pattern", "ignore_case", "max_files", "max_bytes", "scope")
DEPENDENCY_KEYS = ("ecosystem", "name", "scope")


@dataclass(frozen=True, slots=True)
class Files:
    globs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Contains:
    globs: tuple[str, ...]
    pattern: str
    ignore_case: bool = False
    max_files: int = DEFAULT_MAX_FILES
    max_bytes: int = DEFAULT_MAX_BYTES
    scope: str = "any"  # the parser defaults to `code` (see `_default_scope`)


@dataclass(frozen=True, slots=True)
class Dependency:
    """A package declared in a manifest or lock file; names normalised per ecosystem."""

    ecosystem: str  # one of ECOSYSTEMS or "any"
    names: tuple[str, ...]  # as written in the rule; a trailing `*` matches a prefix
    scope: str = DEFAULT_SCOPE


@dataclass(frozen=True, slots=True)
class CI:
    globs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class All:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Any:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    rule: Rule


Rule = Files | Contains | Dependency | CI | All | Any | Not
KeyPath = tuple[str | int, ...]


def walk_rule(rule: Rule) -> Iterable[Rule]:
    """The rule and every rule nested in it, parents first."""
    yield rule
    if isinstance(rule, All | Any):
        for child in rule.rules:
            yield from walk_rule(child)
    elif isinstance(rule, Not):
        yield from walk_rule(rule.rule)


Where = Positions | Callable[[KeyPath], tuple[int | None, int | None]]


PATTERN_MAX_MEM = 2 << 20  # RE2 memory for one pattern; `\pL{446}` alone needs about 4.6 MB
MAX_PROGRAM_SIZE = 20_000  # RE2 instructions in one pattern (real ones need a few hundred)


def compile_pattern(pattern: str, ignore_case: bool = False) -> re2._Regexp:
    """Compile a content pattern with RE2, bounded in memory; raises ValueError with a
    user-facing reason. Memoised (a compiled pattern is immutable): parsing validates each
    pattern, the template's size check and `compile_checklist` need it again."""
    return _compile_pattern(pattern, ignore_case)


@functools.lru_cache(maxsize=4096)
def _compile_pattern(pattern: str, ignore_case: bool) -> re2._Regexp:
    options = re2.Options()
    options.log_errors = False  # RE2 would otherwise print parse errors to stderr itself
    options.case_sensitive = not ignore_case
    options.max_mem = PATTERN_MAX_MEM
    too_big = (
        f"pattern is too large: it compiles to more than {MAX_PROGRAM_SIZE} RE2 instructions "
        "(a counted repetition such as \\pL{400} costs one copy per count); shorten it"
    )
    try:
        compiled = re2.compile(pattern.encode("utf-8", "surrogatepass"), options)  # bytes: no re-encoding
    except re2.error as exc:
        if b"too large" in (exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else b""):
            raise ValueError(too_big) from None
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"pattern is not valid RE2 syntax ({detail}); RE2 runs in linear time and does not "
            "support lookaround ((?=, (?!, (?<=, (?<!) or backreferences (\\1)"
        ) from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise ValueError(too_big)
    return compiled


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Ctx:
    filename: str
    where: Where
    error: type[InputError]

    def fail(
        self, path: KeyPath, message: str, *, value: bool = True, suggestion: str | None = None
    ) -> InputError:
        line: int | None
        column: int | None
        if isinstance(self.where, Positions):
            line, column = self.where.lookup(path, value=value)
        else:
            line, column = self.where(path)
        return self.error(
            file=self.filename,
            message=message,
            line=line,
            column=column,
            path=format_path(path) or None,
            suggestion=suggestion,
        )


def parse_rule(
    data: object,
    *,
    where: Where,
    filename: str,
    path: KeyPath = (),
    error: type[InputError] = TemplateError,
) -> Rule:
    """Validate rule data loaded from YAML (`path` is where it sits in the file) into a Rule."""
    return _parse(data, _Ctx(filename, where, error), tuple(path))


def _parse(data: object, ctx: _Ctx, path: KeyPath) -> Rule:
    expected = "a rule: a mapping with one key out of " + ", ".join(KINDS)
    if not isinstance(data, dict) or not data:
        raise ctx.fail(path, f"expected {expected}, got {_describe(data)}")
    if len(data) > 1:
        keys = ", ".join(map(str, data))
        raise ctx.fail(
            path,
            f"a rule has exactly one key, found {len(data)} ({keys}); combine them with `all:` or `any:`",
        )
    kind, body = next(iter(data.items()))
    at = (*path, kind)
    if kind not in KINDS:
        raise ctx.fail(
            at,
            f"unknown rule kind '{kind}'; expected one of {', '.join(KINDS)}",
            value=False,
            suggestion=suggest(str(kind), KINDS),
        )
    if kind == "files":
        return Files(_globs(body, ctx, at))
    if kind == "ci":
        return CI(_strings(body, ctx, at, "CI job name globs"))
    if kind == "contains":
        return _contains(body, ctx, at)
    if kind == "dependency":
        return _dependency(body, ctx, at)
    if kind == "not":
        return Not(_parse(body, ctx, at))
    if not isinstance(body, list) or not body:
        raise ctx.fail(at, f"`{kind}` expects a non-empty list of rules, got {_describe(body)}")
    rules = tuple(_parse(item, ctx, (*at, i)) for i, item in enumerate(body))
    return All(rules) if kind == "all" else Any(rules)


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "an empty mapping" if not value else "a mapping"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return f"{type(value).__name__} {value!r}"


def _strings(body: object, ctx: _Ctx, path: KeyPath, what: str) -> tuple[str, ...]:
    items = [body] if isinstance(body, str) else body
    if not isinstance(items, list) or not items:
        raise ctx.fail(
            path, f"expected {what}: a string or a non-empty list of strings, got {_describe(body)}"
        )
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            at = (*path, i) if isinstance(body, list) else path
            raise ctx.fail(at, f"expected a non-empty string, got {_describe(item)}")
    return tuple(items)


def _globs(body: object, ctx: _Ctx, path: KeyPath) -> tuple[str, ...]:
    globs = _strings(body, ctx, path, "file globs")
    for i, text in enumerate(globs):
        try:
            compile_glob(text)
        except GlobError as exc:
            raise ctx.fail((*path, i) if isinstance(body, list) else path, f"glob '{text}': {exc}") from None
    return globs


def _mapping(
    body: object, ctx: _Ctx, path: KeyPath, kind: str, keys: tuple[str, ...], required: tuple[str, str]
) -> dict[str, object]:
    """The body of a rule kind that takes a mapping: no unknown keys, the required ones present."""
    if not isinstance(body, dict):
        first, second = required
        raise ctx.fail(
            path, f"`{kind}` expects a mapping with `{first}` and `{second}`, got {_describe(body)}"
        )
    for key in body:
        if key not in keys:
            raise ctx.fail(
                (*path, key),
                f"unknown key '{key}' in `{kind}`; expected {', '.join(keys)}",
                value=False,
                suggestion=suggest(str(key), keys),
            )
    for key in required:
        if key not in body:
            raise ctx.fail(path, f"`{kind}` needs `{key}`", value=False)
    return body


def _contains(body: object, ctx: _Ctx, path: KeyPath) -> Contains:
    body = _mapping(body, ctx, path, "contains", CONTAINS_KEYS, ("files", "pattern"))
    globs = _globs(body["files"], ctx, (*path, "files"))
    pattern = body["pattern"]
    if not isinstance(pattern, str) or not pattern:
        raise ctx.fail((*path, "pattern"), f"expected a regular expression string, got {_describe(pattern)}")
    ignore_case = body.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise ctx.fail((*path, "ignore_case"), f"expected true or false, got {_describe(ignore_case)}")
    try:
        compile_pattern(pattern, ignore_case)
    except ValueError as exc:
        raise ctx.fail((*path, "pattern"), str(exc)) from None
    limits = {}
    for key, default, top in (
        ("max_files", DEFAULT_MAX_FILES, LIMIT_MAX_FILES),
        ("max_bytes", DEFAULT_MAX_BYTES, LIMIT_MAX_BYTES),
    ):
        value = body.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ctx.fail((*path, key), f"expected a whole number from 1 to {top}, got {_describe(value)}")
        limits[key] = value
    scope = _scope(body, ctx, path) if "scope" in body else _default_scope(globs)
    return Contains(globs, pattern, ignore_case, **limits, scope=scope)


def _default_scope(globs: tuple[str, ...]) -> str:
    """`code`, except for a rule that names documentation files: `any` when it names nothing
    else (it is about docs), else `code+docs` (its docs globs would otherwise never match)."""

    def is_doc(glob: str) -> bool:
        first = glob.lstrip("/").split("/", 1)[0]
        return glob.lower().endswith(DOC_EXTS) or first in DOC_DIRS

    docs = sum(map(is_doc, globs))
    return "any" if docs == len(globs) else CODE_AND_DOCS if docs else DEFAULT_SCOPE


def _scope(body: dict[str, object], ctx: _Ctx, path: KeyPath) -> str:
    scope = body["scope"]
    if scope not in SCOPES:
        raise ctx.fail(
            (*path, "scope"),
            f"expected one of {', '.join(SCOPES)}, got {_describe(scope)}",
            suggestion=suggest(str(scope), SCOPES),
        )
    return str(scope)


def _dependency(body: object, ctx: _Ctx, path: KeyPath) -> Dependency:
    body = _mapping(body, ctx, path, "dependency", DEPENDENCY_KEYS, ("ecosystem", "name"))
    ecosystem = body["ecosystem"]
    choices = (*ECOSYSTEMS, "any")
    if ecosystem not in choices:
        raise ctx.fail(
            (*path, "ecosystem"),
            f"expected one of {', '.join(choices)}, got {_describe(ecosystem)}",
            suggestion=suggest(str(ecosystem), choices),
        )
    names = _strings(body["name"], ctx, (*path, "name"), "package names")
    for i, name in enumerate(names):
        if "*" in name.rstrip("*") or name.strip() in ("*", ""):
            at = (*path, "name", i) if isinstance(body["name"], list) else (*path, "name")
            raise ctx.fail(at, f"package name '{name}': `*` is only allowed at the end, after a prefix")
    scope = _scope(body, ctx, path) if "scope" in body else DEFAULT_SCOPE
    return Dependency(str(ecosystem), names, scope)
