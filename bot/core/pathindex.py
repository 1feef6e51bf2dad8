"""Glob matching over a repository's paths without testing every path against every glob.

`PathIndex` answers the questions rules ask (the shallowest files a glob matches, how many) for
any number of globs at once. With Hyperscan (`bot.core.pathscan`) it lists the paths shallowest
first in blocks, learns from one pass which globs can match in which blocks, and checks only
those blocks with each glob's own regex, stopping once it has the few files asked for.

Without Hyperscan, `_Buckets` groups every file and directory by name and by extension and
resolves a glob through the cheapest of: its literal name, its extension, a sorted-range lookup
of unique names by the literal prefix or suffix of its last segment (or a substring search for
an inner literal), or the entries below a literal directory; globs with no literal part share
one combined pass. Either way the cost grows with paths + matches + rules, not paths x rules,
and the regex in `bot.core.globs` is the definition both answer to.
"""

from __future__ import annotations

import bisect
import gc
import heapq
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from itertools import compress, groupby, islice, repeat
from operator import and_, call, contains, eq, ge, gt, itemgetter, methodcaller, or_

import re2

from bot.core import pathscan
from bot.core.globs import Glob, GlobError, combined_regex, compile_glob, depth_key, naive_files


def _span(ordered: list[str], prefix: str) -> tuple[int, int]:
    """Index range of the entries of a sorted list below a directory prefix such as "docs/adr/"."""
    end = prefix[:-1] + "0"  # "0" sorts right after "/"
    return bisect.bisect_left(ordered, prefix), bisect.bisect_left(ordered, end)


_Bucket = tuple[list[str], list[str]]  # (files, directories), each shallowest first
_EMPTY: _Bucket = ([], [])


_count = methodcaller("count", "/")
_split = methodcaller("rpartition", "/")
_reverse = itemgetter(slice(None, None, -1))
_Chunks = tuple[list[list[str]], list[list[str]]]  # lists of candidate files, of candidate dirs


def _chunks_of(buckets: list[_Bucket]) -> _Chunks:
    """The candidates of some buckets, unflattened (built only if the option is chosen)."""
    return [f for f, _ in buckets], [d for _, d in buckets]


def _prefix_span(ordered: list[str], prefix: str) -> tuple[int, int]:
    return bisect.bisect_left(ordered, prefix), bisect.bisect_left(ordered, prefix + "\U0010ffff")


def _by_depth(entries: Iterable[str]) -> list[str]:
    """Shallowest first, then alphabetical: two C-level sorts instead of a Python key function."""
    return sorted(sorted(entries), key=_count)


def _group(names: list[str], entries: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Entries by name and by extension, keeping their order (the hot loop of building an index)."""
    by_name: dict[str, list[str]] = {}
    add = by_name.setdefault
    for name, entry in zip(names, entries, strict=True):
        add(name, []).append(entry)
    by_ext: dict[str, list[str]] = {}
    add = by_ext.setdefault
    for (_, dot, ext), entry in zip(map(methodcaller("rpartition", "."), names), entries, strict=True):
        if dot:
            add(ext, []).append(entry)
    return by_name, by_ext


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: indexing and evaluating allocate many thousands of
    containers and no reference cycles, and collections triggered meanwhile (traversing all of
    them, often several times) cost more than the work itself."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _both(first: Callable[[str], object], second: Callable[[str], object]) -> Callable[[str], None]:
    def add(entry: str) -> None:
        first(entry)
        second(entry)

    return add


class _Buckets:
    """Every file and directory of a snapshot grouped by name and extension, in pure Python: the
    index used where Hyperscan is not available. Answers are memoised per glob.

    Directories are entries ending in "/" so one regex serves files and directories alike. Buckets
    list entries shallowest first, so the first match is the one worth showing and `contains` can
    take its capped candidates off the front.
    """

    def __init__(self, paths: Iterable[str]) -> None:
        with paused_gc():
            self._build(paths)

    def _build(self, paths: Iterable[str]) -> None:
        files = sorted(paths)  # git trees arrive sorted: then this is one linear pass
        if any(map(eq, files, islice(files, 1, None))):
            files = sorted(set(files))
        self.files: list[str] = files  # path order, for directory ranges
        # Shallowest first (alphabetical within a depth, the sort is stable): buckets filled in
        # this order need no sorting of their own.
        self._order = sorted(files, key=_count)
        parts = list(map(_split, self._order))  # (parent, "/", name): one call for both
        self._names: list[str] = list(map(itemgetter(2), parts))
        parents = {f"{parent}/" for parent in set(map(itemgetter(0), parts)) if parent}
        dirs = set(parents)
        for parent in parents:
            slash = parent.rfind("/", 0, len(parent) - 1)
            while slash > 0 and (up := parent[: slash + 1]) not in dirs:
                dirs.add(up)
                slash = parent.rfind("/", 0, slash)
        self.dirs: list[str] = sorted(dirs)
        dirs_by_depth = sorted(self.dirs, key=_count)
        dir_names = [d[d.rfind("/", 0, len(d) - 1) + 1 : -1] for d in dirs_by_depth]
        self._dirs_by_name, self._dirs_by_ext = _group(dir_names, dirs_by_depth)
        # Files by name and by extension are grouped on demand, for the keys globs ask about.
        self._files_by_name: dict[str, list[str]] = {}
        self._files_by_ext: dict[str, list[str]] = {}
        self._complete = False  # every name and extension grouped
        self._file_names: set[str] | None = None
        self._all_names: list[str] | None = None
        self._blob: str | None = None
        self._infix: dict[str, list[str]] = {}
        self._sorted_names: list[str] | None = None
        self._reversed_names: list[str] | None = None
        self._memo: dict[str, _Bucket] = {}
        self._below_memo: dict[str, list[str]] = {}
        self._spans_memo: dict[str, tuple[int, Callable[[], _Chunks]]] = {}

    # -- buckets, grouped on demand

    def _every_name(self) -> list[str]:
        """The distinct names of all files and directories."""
        if self._all_names is None:
            self._all_names = list(self._distinct_file_names().union(self._dirs_by_name))
        return self._all_names

    def _distinct_file_names(self) -> set[str]:
        if self._file_names is None:
            self._file_names = set(self._names)
        return self._file_names

    def by_name(self, name: str) -> _Bucket:
        """Files and directories called `name`, shallowest first."""
        files = self._files_by_name.get(name)
        if files is None:
            if not self._complete:
                self._load_all()
            files = self._files_by_name.get(name, [])
        return files, self._dirs_by_name.get(name, [])

    def by_ext(self, ext: str) -> _Bucket:
        """Files and directories whose name ends in ".ext", shallowest first."""
        files = self._files_by_ext.get(ext)
        if files is None:
            if not self._complete:
                self._load_all()
            files = self._files_by_ext.get(ext, [])
        return files, self._dirs_by_ext.get(ext, [])

    def _load_all(self) -> None:
        """Group every file by name and extension: for globs resolved without `prime`."""
        by_name, by_ext = _group(self._names, self._order)
        self._files_by_name.update(by_name)
        self._files_by_ext.update(by_ext)
        self._complete = True

    def _load(self, names: Iterable[str], exts: Iterable[str]) -> None:
        """Group the files with these names or extensions, in one pass over the paths."""
        if self._complete:
            return
        # what to do with a file of each wanted name: append it to its bucket (or to two)
        adders: dict[str, Callable[[str], object]] = {}
        buckets: dict[str, list[str]] = {e: [] for e in exts if e not in self._files_by_ext}
        if buckets:
            self._files_by_ext.update(buckets)
            rnames = self._reversed()
            for ext, bucket in buckets.items():
                lo, hi = _prefix_span(rnames, f".{ext}"[::-1])
                adders.update(zip(map(_reverse, rnames[lo:hi]), repeat(bucket.append)))
        for name in names:
            if name not in self._files_by_name:
                self._files_by_name[name] = bucket = []
                add = adders.get(name)
                adders[name] = bucket.append if add is None else _both(bucket.append, add)
        if adders:  # one C-level pass: each file handed to its name's adder (or to `len`: no-op)
            deque(map(call, map(adders.get, self._names, repeat(len)), self._order), maxlen=0)

    # -- resolving one glob

    def match(self, glob: Glob) -> _Bucket:
        """(files, directories) the glob matches itself, each shallowest first.

        Files below a matched directory match too; `candidates()` expands them.
        """
        hit = self._memo.get(glob.text)
        if hit is None:
            hit = self._resolve(glob)
            if hit is None:
                self.prime([glob])
                return self._memo[glob.text]
            self._memo[glob.text] = hit
        return hit

    def _resolve(self, glob: Glob) -> _Bucket | None:
        if glob.basename_only:
            if glob.name is not None:
                files, dirs = self.by_name(glob.name)
                return ([] if glob.dir_only else files), dirs
            if glob.exact_ext:
                files, dirs = self.by_ext(glob.ext or "")
                return ([] if glob.dir_only else files), dirs
            if glob.tail is not None:
                return self._from_names(self._names_for(glob), glob.dir_only)
            return None
        options = self._options(glob)
        if self._wants_names(glob, options):
            buckets = [self.by_name(n) for n in self._names_for(glob)]
            size = sum(len(f) + len(d) for f, d in buckets)
            options.append((size, partial(_chunks_of, buckets)))
        if not options:
            return None
        _, produce = min(options, key=lambda option: option[0])
        chunks = produce()
        file_chunks: list[Iterable[str]] = list(chunks[0])
        dir_chunks: list[Iterable[str]] = list(chunks[1])
        match = glob.regex.match
        if glob.suffix:  # the literal end of the last segment: a cheap test before the regex
            ends = methodcaller("endswith", glob.suffix)
            dir_ends = methodcaller("endswith", f"{glob.suffix}/")
            file_chunks = [filter(ends, chunk) for chunk in file_chunks]
            dir_chunks = [filter(dir_ends, chunk) for chunk in dir_chunks]
        files = [] if glob.dir_only else [e for chunk in file_chunks for e in filter(match, chunk)]
        dirs = [e for chunk in dir_chunks for e in filter(match, chunk)]
        return _by_depth(files), _by_depth(dirs)

    def _options(self, glob: Glob) -> list[tuple[int, Callable[[], _Chunks]]]:
        """Ways to list a superset of what a glob with a "/" matches, each with its size."""
        options = self._spans(glob)
        bucket = None
        if glob.name is not None:
            bucket = self.by_name(glob.name)
        elif glob.ext is not None and (self._has_ext(glob.ext) or not (glob.anchor or glob.dir_literals)):
            bucket = self.by_ext(glob.ext)
        if bucket is not None:
            files, dirs = bucket
            options.append((len(files) + len(dirs), partial(_chunks_of, [bucket])))
        return options

    def _spans(self, glob: Glob) -> list[tuple[int, Callable[[], _Chunks]]]:
        """The entries below the glob's literal directories, as ranges of the sorted lists."""
        options = [self._below(glob.anchor, [glob.anchor])] if glob.anchor else []
        for literal in glob.dir_literals:
            options.append(self._below(literal, self._dirs_by_name.get(literal, [])))
        return options

    @staticmethod
    def _wants_names(glob: Glob, options: list[tuple[int, Callable[[], _Chunks]]]) -> bool:
        """Whether the names matching the last segment are worth looking up for this glob."""
        return (
            glob.tail is not None and not glob.exact_ext and (not options or min(s for s, _ in options) > 64)
        )

    def _has_ext(self, ext: str) -> bool:
        return self._complete or ext in self._files_by_ext

    def _below(self, key: str, directories: Iterable[str]) -> tuple[int, Callable[[], _Chunks]]:
        """How many entries lie below these directories, and a way to list them (nested ones once);
        memoised by `key` (an anchor or a directory name), as many globs share them."""
        hit = self._spans_memo.get(key)
        if hit is None:
            hit = self._spans_memo[key] = self._below_all(directories)
        return hit

    def _below_all(self, directories: Iterable[str]) -> tuple[int, Callable[[], _Chunks]]:
        outer: list[str] = []
        for directory in sorted(directories):
            if not (outer and directory.startswith(outer[-1])):
                outer.append(directory)
        spans = [(_span(self.files, d), _span(self.dirs, d)) for d in outer]
        size = sum(f[1] - f[0] + d[1] - d[0] for f, d in spans)
        files, dirs = self.files, self.dirs  # not `self`: memoised closures must not form cycles
        return size, lambda: (
            [files[lo:hi] for (lo, hi), _ in spans],
            [dirs[lo:hi] for _, (lo, hi) in spans],
        )

    def _names_for(self, glob: Glob) -> list[str]:
        """Unique names matching the glob's last segment (see `_lookup`)."""
        literal, produce = self._lookup(glob)
        found = self._names_containing(literal) if literal is not None else produce()
        if glob.tail_exact:
            return found
        extra = "/" if glob.dir_only and glob.basename_only else ""
        tail = glob.tail
        assert tail is not None
        return [n for n in found if tail.match(n + extra)]

    def _lookup(self, glob: Glob) -> tuple[str | None, Callable[[], list[str]]]:
        """The most selective way to find candidate names: a sorted-range lookup on the literal
        prefix, or on the literal suffix (in reversed names), or else (literal, _) to search the
        longest inner literal in all names."""
        choices: list[tuple[int, str, Callable[[], list[str]]]] = []
        if glob.prefix:
            if self._sorted_names is None:
                self._sorted_names = sorted(self._every_name())
            names, (lo, hi) = self._sorted_names, _prefix_span(self._sorted_names, glob.prefix)
            choices.append((hi - lo, glob.prefix, lambda: names[lo:hi]))
        if glob.suffix:
            rnames = self._reversed()
            rlo, rhi = _prefix_span(rnames, glob.suffix[::-1])
            choices.append((rhi - rlo, glob.suffix, lambda: [n[::-1] for n in rnames[rlo:rhi]]))
        size, literal, produce = min(choices, default=(0, "", list))
        if glob.literal and (not choices or (size > 256 and len(glob.literal) > len(literal))):
            return glob.literal, list
        return None, produce

    def _reversed(self) -> list[str]:
        """Every name spelt backwards, sorted: names ending in a suffix form one range."""
        if self._reversed_names is None:
            self._reversed_names = sorted(map(_reverse, self._every_name()))
        return self._reversed_names

    def _names_containing(self, literal: str) -> list[str]:
        found = self._infix.get(literal)
        if found is None:
            self._search_names([literal])
            found = self._infix[literal]
        return found

    def _search_names(self, literals: Sequence[str]) -> None:
        """Names containing each literal, for all literals in one RE2 pass over all names."""
        if self._blob is None:
            self._blob = "/" + "/".join(self._every_name()) + "/"
        wanted = "|".join(re2.escape(literal) for literal in literals)
        names = re2.compile(f"/([^/]*(?:{wanted})[^/]*)").findall(self._blob)
        for literal in literals:
            self._infix[literal] = [n for n in names if literal in n]

    def _from_names(self, names: Sequence[str], dir_only: bool) -> _Bucket:
        buckets = [self.by_name(n) for n in names]
        if len(buckets) == 1:
            files, dirs = buckets[0]
        else:
            files = _by_depth(f for b in buckets for f in b[0])
            dirs = _by_depth(d for b in buckets for d in b[1])
        return ([] if dir_only else files), dirs

    def prime(self, globs: Iterable[Glob]) -> None:
        """Resolve together what would otherwise cost one pass per glob: the files of every name
        and extension the globs need are grouped in one pass over the paths, inner literals are
        searched in one pass over the names, and globs with no literal part share one pass."""
        with paused_gc():
            self._prime(globs)

    def _prime(self, globs: Iterable[Glob]) -> None:
        pending = [g for g in {g.text: g for g in globs}.values() if g.text not in self._memo]
        name_globs = [g for g in pending if g.basename_only and g.name is None and not g.exact_ext]
        self._search_infixes(g for g in name_globs if g.tail is not None)
        names = {g.name for g in pending if g.name is not None}
        exts = {g.ext for g in pending if g.ext is not None and g.name is None and self._by_ext_only(g)}
        for g in name_globs:
            if g.tail is not None:
                names.update(self._names_for(g))
        scanned = self._scan_names([g for g in name_globs if self._needs_scan(g)])
        for hits in scanned.values():
            names.update(hits)
        # Globs with a "/" that may be cheapest to find by the names matching their last segment
        # (a superset: their extension's files, loaded below, can still turn out cheaper).
        routed = [g for g in pending if not g.basename_only and self._wants_names(g, self._spans(g))]
        self._search_infixes(routed)
        for g in routed:
            names.update(self._names_for(g))
        self._load(names, exts)
        for g in name_globs:
            if g.text in scanned:
                self._memo[g.text] = self._from_names(scanned[g.text], g.dir_only)
        full = [g for g in pending if not g.basename_only and self._needs_scan(g)]
        if full:
            combined = combined_regex(full)
            found: dict[str, tuple[list[str], list[str]]] = {g.text: ([], []) for g in full}
            for kind, entries in ((0, self.files), (1, self.dirs)):
                for entry in filter(combined.match, entries):
                    for g in full:
                        if g.regex.match(entry):
                            found[g.text][kind].append(entry)
            for g in full:
                files, dirs = found[g.text]
                self._memo[g.text] = (_by_depth(files), _by_depth(dirs))

    @staticmethod
    def _by_ext_only(glob: Glob) -> bool:
        """A glob whose files are best found by their extension."""
        if glob.basename_only:
            return glob.exact_ext
        return not (glob.anchor or glob.dir_literals)

    def _search_infixes(self, globs: Iterable[Glob]) -> None:
        literals = {
            literal
            for g in globs
            for literal, _ in [self._lookup(g)]
            if literal is not None and literal not in self._infix
        }
        if literals:
            self._search_names(sorted(literals))

    def _scan_names(self, globs: list[Glob]) -> dict[str, list[str]]:
        """Names matching each of these globs (no literal part), from one pass over all names."""
        if not globs:
            return {}
        combined = combined_regex(globs)
        hits: dict[str, list[str]] = {g.text: [] for g in globs}
        for name in self._every_name():
            if combined.match(name) or combined.match(name + "/"):
                for g in globs:
                    if g.regex.match(name + ("/" if g.dir_only else "")):
                        hits[g.text].append(name)
        return hits

    @staticmethod
    def _needs_scan(glob: Glob) -> bool:
        if glob.basename_only:
            return glob.name is None and not glob.exact_ext and glob.tail is None
        return (
            glob.name is None
            and glob.ext is None
            and glob.tail is None
            and not glob.anchor
            and not glob.dir_literals
        )

    # -- answers for rules

    def candidates(self, globs: Sequence[Glob], limit: int) -> tuple[list[str], bool]:
        """The `limit` shallowest files any glob matches (directories expanded); True if capped.
        Not memoised here: `PathIndex` keeps every answer."""
        lists: list[list[str]] = []
        for glob in globs:
            files, dirs = self.match(glob)
            lists.append(files)
            lists.extend(self._files_below(d) for d in dirs)
        lists = [entries for entries in lists if entries]
        if len(lists) == 1:
            picked = lists[0][: limit + 1]
        else:  # each list is shallowest first: merge them, dropping repeats (they come together)
            merged = heapq.merge(*lists, key=depth_key)
            picked = [p for p, _ in islice(groupby(merged), limit + 1)]
        return picked[:limit], len(picked) > limit

    def _files_below(self, directory: str) -> list[str]:
        below = self._below_memo.get(directory)
        if below is None:
            lo, hi = _span(self.files, directory)
            below = self._below_memo[directory] = _by_depth(self.files[lo:hi])
        return below


BLOCK = 48  # paths per scanned block: finer blocks let a glob with matches spread over a vendored
# tree look through fewer paths (256 cost a third more on bench/rules.py)
COUNT_CAP = 100  # matches counted for evidence ("and more than 99 others"): enough to say "many"


class _Pending:
    """A glob's matches found so far (positions in the shallowest-first order) and the blocks
    still to look in."""

    __slots__ = ("batch", "blocks", "found", "glob", "literal", "match", "next")

    def __init__(self, glob: Glob, blocks: list[int]) -> None:
        self.glob = glob
        self.match = glob.regex.match
        self.batch = name_batch(glob)
        # every match contains its last segment's literal part: a C-level test before the regex
        self.literal = glob.name or glob.literal
        self.blocks = blocks
        self.next = 0  # position in `blocks`
        self.found: list[int] = []


def name_test(glob: Glob) -> Callable[[str], bool] | None:
    """For a glob without "/" made of literals and at most two "*" ("Dockerfile", "*.py",
    "test_*", "*auth*.java", "V*__*"): a test agreeing with its regex that decides on the file
    name with string methods, and asks the regex only when a directory name might match (what
    a matching directory name must hold is in the path: "*client*.js" needs ".js/"); else None."""
    if not glob.basename_only or glob.dir_only:
        return None
    segment = glob.text.rsplit("/", 1)[-1]
    pieces = segment.split("*")
    if any(c in segment for c in "?[\\") or len(pieces) > 3 or "" in pieces[1:-1]:
        return None
    head, tail = pieces[0], pieces[-1]
    middle = pieces[1] if len(pieces) == 3 else ""
    shortest, end = len(head) + len(middle) + len(tail), -len(tail) if tail else None
    hint = f"{tail}/" if tail else f"/{head}" if head else middle  # in any matching directory entry
    regex = glob.regex.match

    def test(path: str) -> bool:
        cut = path.rfind("/") + 1
        name = path[cut:]
        if len(pieces) == 1:
            named = name == head
        else:
            named = name.startswith(head) and name.endswith(tail)
            named = named and (middle in name[len(head) : end] if middle else len(name) >= shortest)
        return named or (cut > 0 and hint in f"/{path[:cut]}" and bool(regex(path)))

    return test


def name_batch(glob: Glob) -> Callable[[list[str]], list[bool]] | None:
    """`name_test` over many paths at once, at C speed: the name tests are chains of `map` over
    the paths' names, and the regex runs only on the rare path whose name fails but that holds
    the literal a matching directory name would put there (None for the globs `name_test` is
    None for). A Python call per path was most of the cost of the path rules."""
    test = name_test(glob)
    if test is None:
        return None
    pieces = glob.text.rsplit("/", 1)[-1].split("*")
    head, tail = pieces[0], pieces[-1]
    middle = pieces[1] if len(pieces) == 3 else ""
    shortest = len(head) + len(tail)
    # in every path where a directory name matches (a superset of what `name_test` asks for)
    hint = f"{tail}/" if tail else head or middle
    starts, ends = methodcaller("startswith", head), methodcaller("endswith", tail)
    inner = methodcaller("find", middle, len(head), -len(tail) if tail else None)

    def batch(paths: list[str]) -> list[bool]:
        names = list(map(itemgetter(2), map(_split, paths)))
        if len(pieces) == 1:
            named = list(map(eq, names, repeat(head)))
        else:
            both = map(and_, map(starts, names), map(ends, names))
            if middle:
                named = list(map(and_, both, map(ge, map(inner, names), repeat(0))))
            elif head and tail:  # "a*a" is not "a"
                named = list(map(and_, both, map(ge, map(len, names), repeat(shortest))))
            else:
                named = list(both)
        unnamed = list(map(gt, map(contains, paths, repeat(hint)), named))  # hint, and not named
        if any(unnamed):
            named = [n or (u and test(p)) for n, u, p in zip(named, unnamed, paths, strict=True)]
        return named

    return batch


class PathIndex:
    """A snapshot's paths, indexed once for every glob its rules use."""

    def __init__(self, paths: Iterable[str]) -> None:
        with paused_gc():
            files = sorted(paths)  # git trees arrive sorted: then this is one linear pass
            if any(map(eq, files, islice(files, 1, None))):  # repeats sit together once sorted
                files = sorted(set(files))
            self.files: list[str] = files  # path order, for directory ranges
            self._scanning: bool | None = None  # Hyperscan or the pure-Python buckets: decided once
            self._fallback: _Buckets | None = None
            self._order: list[str] = []  # shallowest first, alphabetical within a depth
            self._texts: list[bytes] = []  # the order in blocks, one path per line
            self._odd: list[int] = []  # blocks holding a path with a newline: always checked
            self._pending: dict[str, _Pending] = {}
            self._answers: dict[tuple[tuple[str, ...], int], tuple[list[str], bool]] = {}

    @classmethod
    def build(cls, paths: Iterable[str]) -> PathIndex:
        return cls(paths)

    def _buckets(self) -> _Buckets:
        if self._fallback is None:
            self._fallback = _Buckets(self.files)
        return self._fallback

    def _blocks(self) -> list[bytes]:
        if not self._texts and self.files:
            self._order = sorted(self.files, key=_count)  # shallowest first, then by name
            self._texts, self._odd = _blocks_of(self._order)
        return self._texts

    def prime(self, globs: Iterable[Glob]) -> None:
        """Prepare many globs at once: one Hyperscan pass (or one pure-Python grouping pass)
        instead of one per glob."""
        with paused_gc():
            wanted = [g for g in {g.text: g for g in globs}.values() if g.text not in self._pending]
            if not wanted:
                return
            scanner = None
            if self._scanning is not False:
                # the first globs decide: a big tree is worth compiling them, a small one is not
                # unless a running bot compiled them already for a bigger tree
                big = self._scanning or len(self.files) >= pathscan.MIN_PATHS
                scanner = pathscan.block_filter(wanted, compile=big)
                self._scanning = scanner is not None
            if scanner is None:
                self._buckets().prime(wanted)
                return
            hits = scanner.scan(self._blocks(), always=self._odd)
            for glob in wanted:
                self._pending[glob.text] = _Pending(glob, hits[glob.text])

    def _found(self, glob: Glob, need: int) -> tuple[list[int], bool]:
        """Positions (in the shallowest-first order) of the glob's `need` shallowest files, and
        whether it matches more; found block by block, only as far as asked."""
        pending = self._pending[glob.text]
        found, order, match, literal = pending.found, self._order, pending.match, pending.literal
        batch = pending.batch
        while len(found) <= need and pending.next < len(pending.blocks):
            start = pending.blocks[pending.next] * BLOCK
            block = order[start : start + BLOCK]
            if literal:  # all C-level: the literal test, then the name or regex test on what passed
                hits = list(map(contains, block, repeat(literal)))
                maybe = list(compress(range(start, start + len(block)), hits))
                if batch is not None:
                    found.extend(compress(maybe, batch(list(compress(block, hits)))))
                else:
                    found.extend(compress(maybe, map(match, compress(block, hits))))
            else:
                found.extend(compress(range(start, start + len(block)), map(match, block)))
            pending.next += 1
        return found[:need], len(found) > need

    # -- answers for rules

    def candidates(self, globs: Sequence[Glob], limit: int) -> tuple[list[str], bool]:
        """The `limit` shallowest files any glob matches; True if there are more."""
        key = (tuple(g.text for g in globs), limit)
        answer = self._answers.get(key)
        if answer is None:
            if self._scanning is not False and (missing := [g for g in globs if g.text not in self._pending]):
                self.prime(missing)
            if not self._scanning:
                answer = self._buckets().candidates(globs, limit)
            else:
                lists: list[list[int]] = []
                more = False
                for glob in globs:
                    found, capped = self._found(glob, limit)
                    lists.append(found)
                    more = more or capped
                if len(lists) == 1:
                    merged = lists[0]
                else:
                    merged, cut = _union(lists, limit)
                    more = more or cut
                answer = (list(map(self._order.__getitem__, merged[:limit])), more or len(merged) > limit)
            self._answers[key] = answer
        return answer

    def best(self, globs: Sequence[Glob]) -> tuple[str | None, int, bool]:
        """What to show for these globs: the shallowest matching file, or the directory through
        which it matches; how many files match (up to COUNT_CAP); and whether there are more."""
        best: str | None = None
        for glob in globs:
            first, _ = self.candidates([glob], 1)
            if first:
                entry = _entry(glob, first[0])
                if best is None or depth_key(entry) < depth_key(best):
                    best = entry
        files, more = self.candidates(globs, COUNT_CAP) if best is not None else ([], False)
        return best, len(files), more

    def count_below(self, directory: str) -> int:
        lo, hi = _span(self.files, directory)
        return hi - lo

    def matching_files(self, globs: Sequence[Glob]) -> list[str]:
        """Every file any glob matches, shallowest first."""
        return self.candidates(globs, len(self.files))[0]


def _union(lists: list[list[int]], limit: int) -> tuple[list[int], bool]:
    """The sorted union of ascending position lists, as far as its `limit` smallest need; True
    if some list was cut short (the union then holds more than `limit`). No list needs to go past
    the `limit`-th position of a list holding that many on its own: sorting and deduplicating
    the 4,000 shallowest matches of each of 20 extension globs cost more than finding them."""
    full = [positions[limit - 1] for positions in lists if len(positions) >= limit > 0]
    cut = False
    if full:
        last = min(full)
        trimmed = [positions[: bisect.bisect_right(positions, last)] for positions in lists]
        cut = any(len(t) < len(p) for t, p in zip(trimmed, lists, strict=True))
        lists = trimmed
    return sorted(set().union(*lists)), cut


def _blocks_of(paths: Sequence[str]) -> tuple[list[bytes], list[int]]:
    """`paths` as newline-separated blocks of BLOCK, and the blocks holding a path with a newline
    (written with a stand-in there, so every block must be checked for those)."""
    texts: list[bytes] = []
    odd: list[int] = []
    for start in range(0, len(paths), BLOCK):
        block = paths[start : start + BLOCK]
        text = "\n".join(block)
        if text.count("\n") != len(block) - 1:
            odd.append(len(texts))
            text = "\n".join(p.replace("\n", pathscan.NEWLINE_STANDIN) for p in block)
        texts.append(f"{text}\n".encode("utf-8", "surrogateescape"))
    return texts, odd


def matching_any(paths: Sequence[str], globs: Sequence[Glob]) -> set[str] | None:
    """Every path any glob matches, from one Hyperscan pass in path order (no depth order is
    needed for a set): what `ignore:` hides. None without Hyperscan."""
    scanner = pathscan.block_filter(globs)
    if scanner is None:
        return None
    texts, odd = _blocks_of(paths)
    hits = scanner.scan(texts, always=odd)
    found: set[str] = set()
    for glob in {g.text: g for g in globs}.values():
        below = _below_named(glob)
        for number in hits[glob.text]:
            block = paths[number * BLOCK : (number + 1) * BLOCK]
            found.update(filter(glob.regex.match, block) if below is None else below(block))
    return found


def _below_named(glob: Glob) -> Callable[[Sequence[str]], Iterable[str]] | None:
    """For a directory name at any depth ("node_modules/", the vendored directories hidden from
    every evaluation): the paths below such a directory, from two C-level substring tests per
    path instead of a regex each; None for other globs."""
    if not (glob.basename_only and glob.dir_only and glob.name is not None):
        return None
    starts, inner = methodcaller("startswith", f"{glob.name}/"), f"/{glob.name}/"
    return lambda block: compress(block, map(or_, map(starts, block), map(contains, block, repeat(inner))))


def _entry(glob: Glob, path: str) -> str:
    """The file itself, or the directory through which the glob matches it ("docs/adr/")."""
    end = glob.regex.end(path)
    end = len(path) if end is None else end
    return path[:end] if end < len(path) else path


__all__ = [
    "Glob",
    "GlobError",
    "PathIndex",
    "compile_glob",
    "depth_key",
    "matching_any",
    "naive_files",
    "paused_gc",
]
