"""Glob matching over a repository's paths without testing every path against every glob.

The index is built once per snapshot: every file and directory grouped by name and by extension
(shallowest first), plus the sorted path list for directory ranges. A glob then resolves through
the cheapest of: its literal name, its extension, a sorted-range lookup of unique names by the
literal prefix or suffix of its last segment (or a substring search for an inner literal), or
the entries below a literal directory. The glob's own regex (the definition, see
`bot.core.globs`) only checks those few candidates. Globs with no literal part at all share one
combined pass. Cost grows with paths + matches + rules, not paths x rules.
"""

from __future__ import annotations

import bisect
import gc
from collections.abc import Callable, Iterable, Sequence
from operator import methodcaller

import re2

from bot.core.globs import Glob, GlobError, combined_regex, compile_glob, depth_key, naive_files


def _span(ordered: list[str], prefix: str) -> tuple[int, int]:
    """Index range of the entries of a sorted list below a directory prefix such as "docs/adr/"."""
    end = prefix[:-1] + "0"  # "0" sorts right after "/"
    return bisect.bisect_left(ordered, prefix), bisect.bisect_left(ordered, end)


_Bucket = tuple[list[str], list[str]]  # (files, directories), each shallowest first
_EMPTY: _Bucket = ([], [])


_count = methodcaller("count", "/")
_Chunks = tuple[list[list[str]], list[list[str]]]  # lists of candidate files, of candidate dirs


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


def _join(files: dict[str, list[str]], dirs: dict[str, list[str]]) -> dict[str, _Bucket]:
    joined: dict[str, _Bucket] = {key: (entries, []) for key, entries in files.items()}
    for key, entries in dirs.items():
        bucket = joined.get(key)
        joined[key] = (bucket[0] if bucket else [], entries)
    return joined


class PathIndex:
    """Every file and directory of a snapshot, indexed once; answers are memoised per glob.

    Directories are entries ending in "/" so one regex serves files and directories alike. Buckets
    list entries shallowest first, so the first match is the one worth showing and `contains` can
    take its capped candidates off the front.
    """

    def __init__(self, paths: Iterable[str]) -> None:
        # The build allocates ~100,000 containers and no reference cycles: pausing the cyclic
        # garbage collector meanwhile saves about a third of the time and loses nothing.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._build(paths)
        finally:
            if paused:
                gc.enable()

    def _build(self, paths: Iterable[str]) -> None:
        self.files: list[str] = sorted(dict.fromkeys(paths))  # path order, for directory ranges
        by_depth = sorted(self.files, key=_count)
        parts = [f.rpartition("/") for f in by_depth]  # (parent, "/", name): one call for both
        names = [part[2] for part in parts]
        parents = {f"{parent}/" for parent in {part[0] for part in parts} if parent}
        dirs = set(parents)
        for parent in parents:
            slash = parent.rfind("/", 0, len(parent) - 1)
            while slash > 0 and (up := parent[: slash + 1]) not in dirs:
                dirs.add(up)
                slash = parent.rfind("/", 0, slash)
        self.dirs: list[str] = sorted(dirs)
        dirs_by_depth = sorted(self.dirs, key=_count)
        dir_names = [d[d.rfind("/", 0, len(d) - 1) + 1 : -1] for d in dirs_by_depth]
        files_by_name, files_by_ext = _group(names, by_depth)
        dirs_by_name, dirs_by_ext = _group(dir_names, dirs_by_depth)
        self.by_name = _join(files_by_name, dirs_by_name)
        self.by_ext = _join(files_by_ext, dirs_by_ext)
        self._blob: str | None = None
        self._infix: dict[str, list[str]] = {}
        self._sorted_names: list[str] | None = None
        self._reversed_names: list[str] | None = None
        self._memo: dict[str, _Bucket] = {}
        self._below_memo: dict[str, list[str]] = {}
        self._candidates_memo: dict[tuple[tuple[str, ...], int], tuple[list[str], bool]] = {}

    @classmethod
    def build(cls, paths: Iterable[str]) -> PathIndex:
        return cls(paths)

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
                files, dirs = self.by_name.get(glob.name, _EMPTY)
                return ([] if glob.dir_only else files), dirs
            if glob.exact_ext:
                files, dirs = self.by_ext.get(glob.ext or "", _EMPTY)
                return ([] if glob.dir_only else files), dirs
            if glob.tail is not None:
                return self._from_names(self._names_for(glob), glob.dir_only)
            return None
        options: list[tuple[int, Callable[[], _Chunks]]] = []
        key = glob.name if glob.name is not None else glob.ext
        if key is not None:
            files, dirs = (self.by_name if glob.name is not None else self.by_ext).get(key, _EMPTY)
            options.append((len(files) + len(dirs), lambda files=files, dirs=dirs: ([files], [dirs])))
        if glob.anchor:
            options.append(self._below([glob.anchor]))
        for literal in glob.dir_literals:
            options.append(self._below(self.by_name.get(literal, _EMPTY)[1]))
        only_ext = glob.ext is not None and not glob.prefix and glob.suffix == f".{glob.ext}"
        if glob.tail is not None and not only_ext and (not options or min(s for s, _ in options) > 64):
            buckets = [self.by_name[n] for n in self._names_for(glob)]
            size = sum(len(f) + len(d) for f, d in buckets)
            options.append((size, lambda b=buckets: ([f for f, _ in b], [d for _, d in b])))
        if not options:
            return None
        _, produce = min(options, key=lambda option: option[0])
        file_chunks, dir_chunks = produce()
        match = glob.regex.match
        files = [] if glob.dir_only else [e for chunk in file_chunks for e in filter(match, chunk)]
        dirs = [e for chunk in dir_chunks for e in filter(match, chunk)]
        return _by_depth(files), _by_depth(dirs)

    def _below(self, directories: Iterable[str]) -> tuple[int, Callable[[], _Chunks]]:
        """How many entries lie below these directories, and a way to list them (nested ones once)."""
        outer: list[str] = []
        for directory in sorted(directories):
            if not (outer and directory.startswith(outer[-1])):
                outer.append(directory)
        spans = [(_span(self.files, d), _span(self.dirs, d)) for d in outer]
        size = sum(f[1] - f[0] + d[1] - d[0] for f, d in spans)
        return size, lambda: (
            [self.files[lo:hi] for (lo, hi), _ in spans],
            [self.dirs[lo:hi] for _, (lo, hi) in spans],
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
                self._sorted_names = sorted(self.by_name)
            names, (lo, hi) = self._sorted_names, _prefix_span(self._sorted_names, glob.prefix)
            choices.append((hi - lo, glob.prefix, lambda: names[lo:hi]))
        if glob.suffix:
            if self._reversed_names is None:
                self._reversed_names = sorted([n[::-1] for n in self.by_name])
            rnames, (rlo, rhi) = self._reversed_names, _prefix_span(self._reversed_names, glob.suffix[::-1])
            choices.append((rhi - rlo, glob.suffix, lambda: [n[::-1] for n in rnames[rlo:rhi]]))
        size, literal, produce = min(choices, default=(0, "", list))
        if glob.literal and (not choices or (size > 256 and len(glob.literal) > len(literal))):
            return glob.literal, list
        return None, produce

    def _names_containing(self, literal: str) -> list[str]:
        found = self._infix.get(literal)
        if found is None:
            self._search_names([literal])
            found = self._infix[literal]
        return found

    def _search_names(self, literals: Sequence[str]) -> None:
        """Names containing each literal, for all literals in one RE2 pass over all names."""
        if self._blob is None:
            self._blob = "/" + "/".join(self.by_name) + "/"
        wanted = "|".join(re2.escape(literal) for literal in literals)
        names = re2.compile(f"/([^/]*(?:{wanted})[^/]*)").findall(self._blob)
        for literal in literals:
            self._infix[literal] = [n for n in names if literal in n]

    def _from_names(self, names: Sequence[str], dir_only: bool) -> _Bucket:
        buckets = [self.by_name[n] for n in names]
        if len(buckets) == 1:
            files, dirs = buckets[0]
        else:
            files = _by_depth(f for b in buckets for f in b[0])
            dirs = _by_depth(d for b in buckets for d in b[1])
        return ([] if dir_only else files), dirs

    def prime(self, globs: Iterable[Glob]) -> None:
        """Resolve together what would otherwise cost one pass per glob: globs with no literal part
        (one pass over the entries) and inner literals of name globs (one search over all names)."""
        pending = [g for g in {g.text: g for g in globs}.values() if g.text not in self._memo]
        infix = {
            literal
            for g in pending
            if g.basename_only and g.tail is not None and g.name is None and not g.exact_ext
            for literal, _ in [self._lookup(g)]
            if literal is not None and literal not in self._infix
        }
        if infix:
            self._search_names(sorted(infix))
        scans = [g for g in pending if self._needs_scan(g)]
        by_name = [g for g in scans if g.basename_only]
        if by_name:
            combined = combined_regex(by_name)
            hits: dict[str, list[str]] = {g.text: [] for g in by_name}
            for name in self.by_name:
                if combined.match(name) or combined.match(name + "/"):
                    for g in by_name:
                        if g.regex.match(name + ("/" if g.dir_only else "")):
                            hits[g.text].append(name)
            for g in by_name:
                self._memo[g.text] = self._from_names(hits[g.text], g.dir_only)
        full = [g for g in scans if not g.basename_only]
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

    def best(self, globs: Iterable[Glob]) -> tuple[str | None, int]:
        """The shallowest entry any glob matches (the one worth showing) and how many entries match."""
        best: str | None = None
        count = 0
        for glob in globs:
            files, dirs = self.match(glob)
            count += len(files) + len(dirs)
            for entries in (files, dirs):
                if entries and (best is None or depth_key(entries[0]) < depth_key(best)):
                    best = entries[0]
        return best, count

    def count_below(self, directory: str) -> int:
        lo, hi = _span(self.files, directory)
        return hi - lo

    def candidates(self, globs: Sequence[Glob], limit: int) -> tuple[list[str], bool]:
        """The `limit` shallowest files any glob matches (directories expanded); True if capped."""
        key = (tuple(g.text for g in globs), limit)
        hit = self._candidates_memo.get(key)
        if hit is not None:
            return hit
        lists: list[list[str]] = []
        for glob in globs:
            files, dirs = self.match(glob)
            lists.append(files)
            lists.extend(self._files_below(d) for d in dirs)
        lists = [entries for entries in lists if entries]
        if len(lists) == 1:
            picked = lists[0][: limit + 1]
        else:  # each list is shallowest first, so the first limit + 1 of each are enough
            picked = _by_depth({p for entries in lists for p in entries[: limit + 1]})[: limit + 1]
        result = (picked[:limit], len(picked) > limit)
        self._candidates_memo[key] = result
        return result

    def _files_below(self, directory: str) -> list[str]:
        below = self._below_memo.get(directory)
        if below is None:
            lo, hi = _span(self.files, directory)
            below = self._below_memo[directory] = _by_depth(self.files[lo:hi])
        return below

    def matching_files(self, globs: Sequence[Glob]) -> list[str]:
        """Every file any glob matches, shallowest first."""
        return self.candidates(globs, len(self.files))[0]


__all__ = ["Glob", "GlobError", "PathIndex", "compile_glob", "depth_key", "naive_files"]
