"""Glob matching over a repository's paths without scanning the path list once per glob.

Semantics are gitignore's (pathspec's `GitIgnoreSpecPattern`): a glob matches an *entry* (a file
or a directory), and a file matches when it or one of its parent directories does. The index keeps
every entry by name, by extension and in sorted order, so most globs resolve to one dict lookup or
one bisect plus a filter of a small bucket; only globs with no usable literal part fall back to a
single combined pass over the unique names (or all entries), shared by all such globs.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

try:  # pathspec >= 1.0
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern as _Pattern
except ImportError:  # pragma: no cover - pathspec 0.12
    from pathspec.patterns import GitWildMatchPattern as _Pattern  # type: ignore[no-redef]

_WILD = re.compile(r"[*?\[\\]")
_EXT = re.compile(r"\.([^.*?\[\\]+)$")  # a literal extension ending a segment with wildcards
_GROUP = re.compile(r"\(\?P<\w+>")


class GlobError(ValueError):
    """A glob that cannot be used; the message says why in user terms."""


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled glob plus the cheapest way to find its candidates in a `PathIndex`."""

    text: str
    regex: re.Pattern[str]
    strategy: str  # "name", "ext", "name-prefix", "dir", "any"
    key: str  # bucket key for the strategy ("" for "any")
    anchor: str  # literal directory prefix ("docs/adr/") when anchored, else ""
    basename_only: bool  # pattern has no "/": matching the entry's name is enough


def compile_glob(text: str) -> Glob:
    """Check and classify a glob; raises GlobError with a user-facing reason."""
    if not isinstance(text, str) or not text.strip():
        raise GlobError("empty glob")
    if text.startswith("!"):
        raise GlobError("negated globs ('!') are not supported here; wrap the rule in `not:` instead")
    if text.startswith("#"):
        raise GlobError(
            "a glob starting with '#' is a comment in gitignore syntax; write '\\#' for a literal '#'"
        )
    try:
        pattern = _Pattern(text)
    except Exception as exc:  # pathspec raises its own error types across versions
        raise GlobError(f"invalid glob: {exc}") from None
    if pattern.regex is None or pattern.include is None:
        raise GlobError("invalid glob (check for an unclosed '[' or a lone '/')")
    body = text.lstrip("/")
    segments = [s for s in body.split("/") if s]
    while segments and segments[-1] == "**":
        segments.pop()
    anchored = "/" in text.rstrip("/") and (not segments or segments[0] != "**")
    anchor = ""
    if anchored:
        literal = []
        for seg in segments[:-1]:
            if _WILD.search(seg):
                break
            literal.append(seg)
        anchor = "".join(f"{s}/" for s in literal)
    last = segments[-1] if segments else ""
    basename_only = "/" not in text.rstrip("/")
    strategy, key = "any", ""
    first_wild = _WILD.search(last)
    ext = _EXT.search(last)
    if last and not first_wild:
        strategy, key = "name", last
    elif first_wild and first_wild.start() > 0:
        strategy, key = "name-prefix", last[: first_wild.start()]
    elif ext:
        strategy, key = "ext", ext.group(1)
    elif anchor:
        strategy, key = "dir", anchor
    return Glob(text, pattern.regex, strategy, key, anchor, basename_only)


def _combine(globs: Sequence[Glob]) -> re.Pattern[str]:
    """One regex matching what any of the globs matches (group names dropped: they would clash)."""
    return re.compile("|".join(f"(?:{_GROUP.sub('(?:', g.regex.pattern)})" for g in globs))


def depth_key(entry: str) -> tuple[int, str]:
    """Sort key preferring shallow paths: evidence near the root is the one people recognise."""
    return (entry.count("/", 0, len(entry) - 1), entry)


def _range(ordered: list[str], prefix: str) -> list[str]:
    """Entries of a sorted list that start with a directory prefix such as "docs/adr/"."""
    lo = bisect.bisect_left(ordered, prefix)
    hi = bisect.bisect_left(ordered, prefix[:-1] + "0")  # "0" sorts right after "/"
    return ordered[lo:hi]


class PathIndex:
    """Every file and directory of a snapshot, indexed once; answers are memoised per glob.

    Directories are entries ending in "/" so one regex serves files and directories alike.
    """

    def __init__(self, paths: Iterable[str]) -> None:
        self.files: list[str] = sorted(set(paths))
        by_name: dict[str, list[str]] = {}
        by_ext: dict[str, list[str]] = {}
        dirs: set[str] = set()
        for path in self.files:
            slash = path.rfind("/")
            name = path[slash + 1 :]
            by_name.setdefault(name, []).append(path)
            dot = name.rfind(".")
            if dot >= 0:
                by_ext.setdefault(name[dot + 1 :], []).append(path)
            while slash > 0:
                parent = path[: slash + 1]
                if parent in dirs:
                    break
                dirs.add(parent)
                slash = path.rfind("/", 0, slash)
        self.dirs: list[str] = sorted(dirs)
        for directory in self.dirs:
            name = directory[directory.rfind("/", 0, len(directory) - 1) + 1 : -1]
            by_name.setdefault(name, []).append(directory)
            dot = name.rfind(".")
            if dot >= 0:
                by_ext.setdefault(name[dot + 1 :], []).append(directory)
        self.by_name = by_name
        self.by_ext = by_ext
        self._names: list[str] | None = None
        self._memo: dict[str, tuple[str, ...]] = {}

    @classmethod
    def build(cls, paths: Iterable[str]) -> PathIndex:
        return cls(paths)

    def _under(self, prefix: str) -> list[str]:
        return _range(self.files, prefix) + _range(self.dirs, prefix)

    def _candidates(self, glob: Glob) -> Sequence[str] | None:
        if glob.strategy == "name":
            return self.by_name.get(glob.key, ())
        if glob.strategy == "ext":
            bucket = self.by_ext.get(glob.key, ())
            if glob.anchor and len(bucket) > 64:
                under = self._under(glob.anchor)
                if len(under) < len(bucket):
                    return under
            return bucket
        if glob.strategy == "name-prefix":
            if self._names is None:
                self._names = sorted(self.by_name)
            out: list[str] = []
            for name in self._names[bisect.bisect_left(self._names, glob.key) :]:
                if not name.startswith(glob.key):
                    break
                out.extend(self.by_name[name])
            return out
        if glob.strategy == "dir":
            return self._under(glob.anchor)
        return None

    def prime(self, globs: Iterable[Glob]) -> None:
        """Resolve the globs that need a full pass together, in one pass, before they are asked for."""
        scans = [
            g for g in {g.text: g for g in globs}.values() if g.strategy == "any" and g.text not in self._memo
        ]
        if not scans:
            return
        hits: dict[str, list[str]] = {g.text: [] for g in scans}
        by_name = [g for g in scans if g.basename_only]
        if by_name:
            combined = _combine(by_name)
            for name, entries in self.by_name.items():
                if combined.match(name) or combined.match(name + "/"):
                    for g in by_name:
                        hits[g.text].extend(filter(g.regex.match, entries))
        full = [g for g in scans if not g.basename_only]
        if full:
            combined = _combine(full)
            for entry in filter(combined.match, [*self.files, *self.dirs]):
                for g in full:
                    if g.regex.match(entry):
                        hits[g.text].append(entry)
        for g in scans:
            self._memo[g.text] = tuple(hits[g.text])

    def match(self, glob: Glob) -> tuple[str, ...]:
        """Entries (files, and directories ending in "/") the glob matches, in no particular order.

        Files below a matched directory match too; `matching_files()` expands them.
        """
        hit = self._memo.get(glob.text)
        if hit is None:
            candidates = self._candidates(glob)
            if candidates is None:
                self.prime([glob])
                return self._memo[glob.text]
            hit = self._memo[glob.text] = tuple(filter(glob.regex.match, candidates))
        return hit

    def best(self, glob: Glob) -> str | None:
        """The shallowest matching entry (then alphabetical): the one worth showing as evidence."""
        found = self.match(glob)
        return min(found, key=depth_key) if found else None

    def count_below(self, directory: str) -> int:
        return len(_range(self.files, directory))

    def candidates(self, globs: Iterable[Glob], limit: int) -> tuple[list[str], int]:
        """The `limit` shallowest files any glob matches (directories expanded), and how many match."""
        found: set[str] = set()
        for glob in globs:
            for entry in self.match(glob):
                if entry.endswith("/"):
                    found.update(_range(self.files, entry))
                else:
                    found.add(entry)
        if limit < len(found):
            return heapq.nsmallest(limit, found, key=depth_key), len(found)
        return sorted(found, key=depth_key), len(found)

    def matching_files(self, globs: Iterable[Glob]) -> list[str]:
        """Every file any glob matches, shallowest first."""
        return self.candidates(globs, len(self.files))[0]


def naive_files(paths: Iterable[str], text: str) -> list[str]:
    """The reference answer (one regex test per path); tests compare the index against it."""
    regex = _Pattern(text).regex
    return sorted((p for p in set(paths) if regex.match(p)), key=depth_key)
