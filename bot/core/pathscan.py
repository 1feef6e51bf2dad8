"""Which blocks of a path listing can match which globs, from one Hyperscan pass over them all.

A repository's paths are joined into a few hundred newline-separated blocks (shallowest paths
first); a Hyperscan database holding every glob reports, per block, the globs with a match in
it. Globs that match nowhere (most of them, on any real tree) then cost nothing more, and the
others are checked with their own regex (`bot.core.globs`, the definition) only inside the
blocks that can hold a match, stopping once enough of the shallowest files are found.

Hyperscan compiles the whole glob set ahead of time into a matcher whose speed does not depend
on which names a tree happens to contain (RE2's lazily built DFA was fast on a second look but
slow and memory-bound the first time it met a new vocabulary). It is optional: without it,
`PathIndex` falls back to its pure-Python buckets, with the same answers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Protocol

from bot.core.globs import Glob

_hs: ModuleType | None  # None where no wheel exists: PathIndex then answers in pure Python
try:
    import hyperscan

    _hs = hyperscan
except ImportError:  # pragma: no cover - platforms without a wheel
    _hs = None

log = logging.getLogger(__name__)

_GROUP = re.compile(r"\(\?P<\w+>")
_ANY_DIRS = "^(?:.+/)?"
_FLAGS = 0 if _hs is None else _hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_SINGLEMATCH
NEWLINE_STANDIN = "\0"  # a path containing "\n" (git allows it) is written with this in a block

enabled = _hs is not None  # tests switch it off to exercise the pure-Python path


class DatabaseStore(Protocol):
    """Where compiled databases outlive the process (`readiness check` sets one: compiling the
    shipped templates' globs was a sixth of its CPU on a 100,000-file checkout)."""

    def load(self, key: str) -> bytes | None: ...

    def save(self, key: str, data: bytes) -> None: ...


store: DatabaseStore | None = None
STORED_MIN = 100  # expressions: smaller sets compile faster than a file is read


def available() -> bool:
    return enabled and _hs is not None


def hyperscan_expression(glob: Glob) -> bytes | None:
    """A Hyperscan expression over newline-separated paths that matches in every line the glob's
    regex matches (and rarely in a few more: the regex has the last word), or None when the regex
    cannot be carried over safely (non-ASCII classes would be compared byte by byte)."""
    pattern = _GROUP.sub("(?:", glob.regex.pattern)
    if not pattern.isascii():
        return None
    pattern = pattern.replace("[^", "[^\\n")  # a negated class must not run into the next line
    if pattern.startswith(_ANY_DIRS):
        # A filter may say "maybe" too often but never "no" wrongly: without its start anchor
        # the expression matches a little more (rarely: "xDockerfile" for "Dockerfile") and
        # Hyperscan scans twice as fast.
        pattern = pattern[len(_ANY_DIRS) :]
    return pattern.encode()


class BlockFilter:
    """A compiled glob set; `scan` tells which blocks each glob may match in."""

    def __init__(self, texts: Sequence[str], database: Any, unfiltered: Sequence[str]) -> None:
        self.texts = list(texts)  # Hyperscan id -> glob text
        self.database = database
        self.unfiltered = list(unfiltered)  # globs Hyperscan could not take: every block may match
        self._local = threading.local()  # a scratch space per thread (they are not shareable)

    def scan(self, blocks: Sequence[bytes], *, always: Sequence[int] = ()) -> dict[str, list[int]]:
        """Glob text -> indices of the blocks it may have a match in, in block order; `always`:
        blocks every glob must check (a path with a newline was written with a stand-in)."""
        hits: dict[str, list[int]] = {text: [] for text in self.texts}
        if self.database is not None:
            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                assert _hs is not None  # a database exists only where hyperscan compiled it
                scratch = self._local.scratch = _hs.Scratch(self.database)
            found: list[int] = []
            report = found.append

            def on_match(glob_id: int, _start: int, _end: int, _flags: int, _context: object) -> None:
                report(glob_id)

            texts = self.texts
            for number, block in enumerate(blocks):
                self.database.scan(block, match_event_handler=on_match, scratch=scratch)
                for glob_id in found:
                    hits[texts[glob_id]].append(number)
                found.clear()
        everywhere = list(range(len(blocks)))
        for text in self.unfiltered:
            hits[text] = everywhere
        if always:
            hits = {text: sorted(set(found).union(always)) for text, found in hits.items()}
        return hits


MIN_PATHS = 20_000  # below this a tree is indexed in pure Python unless its globs are compiled
_CACHE_SIZE = 64  # compiled glob sets kept: checklists' sets (the shipped one is about 1.6 MB
# and 0.3 s to compile) and repositories' `ignore:` sets (a few KB each)
_LARGE = 100  # globs: at most _LARGE_KEPT sets this big stay compiled
_LARGE_KEPT = 8
_cache: OrderedDict[tuple[str, ...], BlockFilter | None] = OrderedDict()  # None: refused
_cache_lock = threading.Lock()


def block_filter(globs: Sequence[Glob], *, compile: bool = True) -> BlockFilter | None:
    """A filter for these globs, compiled once per distinct set (about 0.3 s for the shipped
    templates' thousand globs); None without Hyperscan, or when not yet compiled and `compile`
    is False (a small tree is indexed faster in pure Python than the compile takes)."""
    if not available():
        return None
    unique = {g.text: g for g in globs}
    key = tuple(sorted(unique))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if not compile:
        return None
    found: BlockFilter | None = _compile([unique[text] for text in key])
    if found is not None and len(found.unfiltered) > max(8, len(key) // 4):
        # Hyperscan took too few of them (or none: an unsupported CPU): checking every block for
        # the rest would be slower than the pure-Python index, which the caller falls back to
        log.warning(
            "Hyperscan refused %d of %d globs; using the pure-Python index", len(found.unfiltered), len(key)
        )
        found = None
    with _cache_lock:
        _cache[key] = found
        # evict the least recently used, but never let the many small `ignore:` sets push out
        # the few large sets that are expensive to compile again
        large = [k for k in _cache if len(k) >= _LARGE]
        while len(large) > _LARGE_KEPT:
            del _cache[large.pop(0)]
        small = [k for k in _cache if len(k) < _LARGE]
        while len(small) > _CACHE_SIZE - _LARGE_KEPT:
            del _cache[small.pop(0)]
    return found


def _compile(globs: list[Glob]) -> BlockFilter:
    texts: list[str] = []
    expressions: list[bytes] = []
    unfiltered: list[str] = []
    for glob in globs:
        expression = hyperscan_expression(glob)
        if expression is None:
            unfiltered.append(glob.text)
        else:
            texts.append(glob.text)
            expressions.append(expression)
    database = _database(expressions)
    if database is None and expressions:  # one bad expression: find it, keep the rest filtered
        kept = [(t, e) for t, e in zip(texts, expressions, strict=True) if _database([e]) is not None]
        unfiltered += [t for t in texts if t not in {k for k, _ in kept}]
        texts, expressions = [t for t, _ in kept], [e for _, e in kept]
        database = _database(expressions)
    return BlockFilter(texts, database, unfiltered)


def _database(expressions: list[bytes]) -> Any:
    if not expressions or _hs is None:
        return None
    key = _store_key(expressions) if store is not None and len(expressions) >= STORED_MIN else None
    if key is not None and (stored := _stored(key)) is not None:
        return stored
    database = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[_FLAGS] * len(expressions),
        )
    except _hs.error:
        return None
    if key is not None and store is not None:
        try:
            store.save(key, _hs.dumpb(database))
        except Exception as exc:  # a read-only or full disk: compile again next time
            log.debug("compiled globs not stored: %s", exc)
    return database


def _store_key(expressions: list[bytes]) -> str:
    """Names a database by everything that makes it: the library version, flags and expressions
    (Hyperscan itself refuses a database built for another version or CPU)."""
    digest = hashlib.sha256(f"{getattr(_hs, '__version__', '?')}:{_FLAGS}:".encode())
    for expression in expressions:
        digest.update(expression + b"\0")
    return digest.hexdigest()


def _stored(key: str) -> Any:
    assert _hs is not None and store is not None
    try:
        data = store.load(key)
        return None if data is None else _hs.loadb(data, _hs.HS_MODE_BLOCK)
    except Exception as exc:  # unreadable, truncated or from another build: compile instead
        log.debug("stored globs not used: %s", exc)
        return None
