"""Globs with gitignore semantics, analysed for the literal parts an index can look up.

A glob matches an *entry* (a file, or a directory written with a trailing "/"), and a file
matches when it or one of its parent directories does: pathspec's `GitIgnoreSpecPattern` regex
is the definition; `compile_glob` only adds the literal pieces `PathIndex` uses to avoid testing
that regex against every path.

Globs and paths both come from repositories, so the regex runs on RE2 (`GlobRegex`): linear in
the path's length whatever the glob, where Python's backtracking `re` took exponential time on
`*a*a*a*a*a*a*c*b` against a long name of "a"s (and held the interpreter lock all along).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import re2
from re2 import _re2

try:  # pathspec >= 1.0
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern as _Pattern
except ImportError:  # pragma: no cover - pathspec 0.12
    # pathspec 0.12 exported the class implicitly; 1.x stubs never see this branch.
    from pathspec.patterns import GitWildMatchPattern as _Pattern  # type: ignore[no-redef,attr-defined,unused-ignore]

_WILD = re.compile(r"[*?\[\\]")
_TOKEN = re.compile(r"\[[^\]]*\]|[*?]")  # wildcard tokens inside one segment
_EXT = re.compile(r"\.([^.*?\[\\/]+)$")  # a literal extension ending a segment
_TAIL_EXACT = re.compile(r"^(?:\*[^*?\[\\]+|[^*?\[\\]+\*)$")
_GROUP = re.compile(r"\(\?P<\w+>")


class GlobError(ValueError):
    """A glob that cannot be used; the message says why in user terms."""


_ANCHOR_START = _re2.RE2.Anchor.ANCHOR_START
_NO_MATCH = (-1, -1)
GLOB_MAX_MEM = 8 << 20  # bytes of compiled program per glob: far above any real glob's needs


def _options(*, capture: bool) -> re2.Options:
    options = re2.Options()
    options.never_capture = not capture
    options.log_errors = False
    options.max_mem = GLOB_MAX_MEM
    return options


class GlobRegex:
    """A glob's regex on RE2: `match` is re-compatible enough for `filter`/`map` over paths
    (truthy on a match at the start), and `end` says where the match stops (a directory)."""

    __slots__ = ("_match", "_spans", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            fast = re2.compile(pattern, _options(capture=False))._regexp
        except re2.error:
            raise GlobError("glob too complex to match safely") from None
        self._spans: Any = None  # compiled when first asked where a match ends (few globs are)
        test = fast.Match

        def match(text: str) -> bool:
            data = text.encode("utf-8", "surrogatepass")
            found: bool = test(_ANCHOR_START, data, 0, len(data))[0] != _NO_MATCH
            return found

        self._match = match

    @property
    def match(self) -> Callable[[str], bool]:
        return self._match

    def end(self, text: str) -> int | None:
        """Where the match at the start of `text` ends (in characters), or None."""
        if self._spans is None:
            try:
                self._spans = re2.compile(self.pattern, _options(capture=True))._regexp
            except re2.error:  # the same pattern compiled without captures: not expected
                return None
        data = text.encode("utf-8", "surrogatepass")
        start, stop = self._spans.Match(_ANCHOR_START, data, 0, len(data))[0]
        if start < 0:
            return None
        return len(data[:stop].decode("utf-8", "surrogatepass"))


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled glob plus the literal parts a `PathIndex` uses to avoid scanning every path."""

    text: str
    regex: GlobRegex  # gitignore semantics, tested on "path" or "directory/"
    basename_only: bool  # no "/" inside: the entry's name alone decides
    dir_only: bool  # trailing "/" or "/**": only directories match (and so the files below them)
    name: str | None  # the last segment when it has no wildcard ("Dockerfile")
    literal: str | None  # the longest literal run of the last segment ("_test.go" in "*_test.go")
    prefix: str  # the last segment's literal start ("test_" in "test_*.py")
    suffix: str  # the last segment's literal end ("_test.go" in "*_test.go")
    tail: GlobRegex | None  # the last segment as a basename pattern, tested on bare names
    tail_exact: bool  # the last segment is "*literal" or "literal*": a name range needs no check
    ext: str | None  # literal extension of the last segment ("py")
    exact_ext: bool  # the last segment is exactly "*.<ext>"
    anchor: str  # literal directory prefix of an anchored glob ("docs/adr/"), else ""
    dir_literals: tuple[str, ...]  # literal directory segments ("migrations" in "**/migrations/*.py")


def _regex_source(text: str) -> tuple[str | None, bool | None]:
    """pathspec's regex for a glob, as text: RE2 compiles it, so Python's `re` need not (that
    compile was most of the cost of loading the shipped templates)."""
    source, include = _Pattern.pattern_to_regex(text)
    return (source.decode() if isinstance(source, bytes) else source), include


def compile_glob(text: str) -> Glob:
    """Check and analyse a glob; raises GlobError with a user-facing reason.

    Memoised (a Glob is immutable): the shipped templates name about 1,000 distinct globs 5,500
    times, and compiling each one again cost a third of `readiness check`'s start."""
    if not isinstance(text, str) or not text.strip():
        raise GlobError("empty glob")
    return _compile_glob(text)


@functools.lru_cache(maxsize=8192)
def _compile_glob(text: str) -> Glob:
    if text != text.strip():
        raise GlobError("remove the spaces around the glob")
    if text.startswith("!"):
        raise GlobError("negated globs ('!') are not supported here; wrap the rule in `not:` instead")
    if text.startswith("#"):
        raise GlobError(
            "a glob starting with '#' is a comment in gitignore syntax; write '\\#' for a literal '#'"
        )
    try:
        source, include = _regex_source(text)
    except Exception as exc:  # pathspec raises its own error types across versions
        raise GlobError(f"invalid glob: {exc}") from None
    if source is None or include is None:
        raise GlobError("invalid glob (check for an unclosed '[' or a lone '/')")
    dir_only = text.endswith("/") or text.endswith("/**")
    segments = [s for s in text.split("/") if s]
    while len(segments) > 1 and segments[-1] == "**":
        segments.pop()
    unanchored = "/" not in text.rstrip("/") or segments[0] == "**"
    while segments and segments[0] == "**" and len(segments) > 1:
        segments.pop(0)
    basename_only = unanchored and len(segments) == 1
    last = segments[-1] if segments else ""
    escaped = "\\" in last
    runs = [] if escaped or last == "**" else [r for r in _TOKEN.split(last) if r]
    ext = _EXT.search(last) if not escaped and last != "**" else None
    tokens = [] if escaped or last == "**" else list(_TOKEN.finditer(last))
    prefix = last[: tokens[0].start()] if tokens else ""
    suffix = last[tokens[-1].end() :] if tokens else ""
    regex = GlobRegex(source)
    tail = None
    if tokens and runs:
        tail = regex if basename_only else GlobRegex(_regex_source(last)[0] or "")
    anchor = ""
    if not unanchored:
        for seg in segments[:-1]:
            if _WILD.search(seg):
                break
            anchor += f"{seg}/"
    return Glob(
        text=text,
        regex=regex,
        basename_only=basename_only,
        dir_only=dir_only,
        name=last if last and not _WILD.search(last) else None,
        literal=max(runs, key=len) if runs else None,
        prefix=prefix,
        suffix=suffix,
        tail=tail,
        tail_exact=tail is not None and not dir_only and _TAIL_EXACT.match(last) is not None,
        ext=ext.group(1) if ext else None,
        exact_ext=ext is not None and last == f"*.{ext.group(1)}" and "." not in ext.group(1),
        anchor=anchor,
        dir_literals=tuple(s for s in segments[:-1] if s != "**" and not _WILD.search(s)),
    )


def _regex_text(text: str) -> str:
    """pathspec's regex for a glob segment or glob already accepted by compile_glob."""
    compiled = _Pattern(text).regex
    if compiled is None:
        raise GlobError("invalid glob (check for an unclosed '[' or a lone '/')")
    regex: str = compiled.pattern  # pathspec types it re.Pattern[Any]; it compiles str globs
    return regex


def combined_regex(globs: Iterable[Glob]) -> GlobRegex:
    """One regex matching what any of the globs matches (group names dropped: they would clash)."""
    return GlobRegex("|".join(f"(?:{_GROUP.sub('(?:', g.regex.pattern)})" for g in globs))


def depth_key(entry: str) -> tuple[int, str]:
    """Sort key preferring shallow paths: evidence near the root is the one people recognise."""
    return (entry.count("/", 0, len(entry) - 1), entry)


def naive_files(paths: Iterable[str], text: str) -> list[str]:
    """The reference answer (one regex test per path); tests compare the index against it."""
    match = GlobRegex(_regex_text(text)).match
    return sorted((p for p in set(paths) if match(p)), key=depth_key)
