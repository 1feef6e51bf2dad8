"""Evidence rules compiled once per checklist and evaluated purely against a repository snapshot.

Rules come from files anyone with push access controls, so nothing in them may stall the bot:
content patterns run on RE2 (linear time, no backtracking), candidate files and bytes read are
capped, each file is read and scanned once for all of a checklist's patterns, and path globs
resolve through a `PathIndex` built once per snapshot, so the cost grows with paths + rules
rather than paths x rules. The syntax (AST and parser) lives in `bot.core.rule_syntax`.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, repeat
from operator import add, is_not, mul
from typing import TYPE_CHECKING

import re2

from bot.core.globs import Glob, compile_glob
from bot.core.manifests import ECOSYSTEMS, MANIFEST_GLOBS, Manifest, normalise, parse_manifest
from bot.core.manifests.parsers import LOCK_OF
from bot.core.pathindex import PathIndex, paused_gc
from bot.core.rule_syntax import (
    CI,
    CONTAINS_KEYS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_FILES,
    DEPENDENCY_KEYS,
    KINDS,
    All,
    Any,
    Contains,
    Dependency,
    Files,
    Not,
    Rule,
    compile_pattern,
    parse_rule,
)
from bot.core.rule_syntax import walk_rule as _walk
from bot.core.scopes import CODE_AND_DOCS, SCOPE_KINDS, Scopes
from bot.core.snapshot import SUCCESS, RepoSnapshot

if TYPE_CHECKING:
    from bot.core.templates import Template

__all__ = [
    "CI",
    "CONTAINS_KEYS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FILES",
    "DEPENDENCY_KEYS",
    "KINDS",
    "All",
    "Any",
    "CompiledChecklist",
    "Contains",
    "Dependency",
    "Files",
    "Not",
    "Rule",
    "Verdict",
    "compile_checklist",
    "compile_pattern",
    "evaluate",
    "evaluate_many",
    "files_to_read",
    "parse_rule",
    "read_budget",
]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an item's rule passed, with short human-readable reasons either way."""

    passed: bool
    evidence: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # e.g. a manifest that could not be parsed


@dataclass(frozen=True)
class CompiledChecklist:
    """One template's automatic items with their globs and patterns compiled, ready to evaluate."""

    template_id: str
    rules: tuple[tuple[str, Rule], ...]  # (item id, effective rule), in template order
    globs: Mapping[str, Glob] = field(repr=False)
    patterns: Mapping[tuple[str, bool], re2._Regexp] = field(repr=False)
    # every pattern in one RE2 set (index 0 is an always-matching canary), so a file is scanned
    # once for all of them; None when the set could not be built (then each rule searches alone)
    pattern_set: re2.Set | None = field(default=None, repr=False, compare=False)
    set_index: Mapping[tuple[str, bool], int] = field(default_factory=dict, repr=False, compare=False)


def compile_checklist(template: Template, extra: Mapping[str, Rule] | None = None) -> CompiledChecklist:
    """Compile every automatic item once; `extra` rules (from .readiness.yml) are OR'ed in."""
    extra = dict(extra or {})
    rules: list[tuple[str, Rule]] = []
    for _section, item in template.items():
        own, more = item.rule, extra.pop(item.id, None)
        rule = Any((own, more)) if own is not None and more is not None else own or more
        if rule is not None:
            rules.append((item.id, rule))
    if extra:
        raise ValueError(f"extra rules for unknown items of '{template.id}': {', '.join(sorted(extra))}")
    globs: dict[str, Glob] = {}
    patterns: dict[tuple[str, bool], re2._Regexp] = {}
    for _, rule in rules:
        for node in _walk(rule):
            if isinstance(node, Dependency):
                for text in _manifest_globs(node):
                    if text not in globs:
                        globs[text] = compile_glob(text)
            if isinstance(node, Files | Contains):
                for text in node.globs:
                    if text not in globs:
                        globs[text] = compile_glob(text)
            if isinstance(node, Contains) and (node.pattern, node.ignore_case) not in patterns:
                patterns[node.pattern, node.ignore_case] = compile_pattern(node.pattern, node.ignore_case)
    pattern_set, set_index = _pattern_set(patterns)
    return CompiledChecklist(template.id, tuple(rules), globs, patterns, pattern_set, set_index)


def _pattern_set(patterns: Iterable[tuple[str, bool]]) -> tuple[re2.Set | None, dict[tuple[str, bool], int]]:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    pattern_set = re2.Set.SearchSet(options)
    index: dict[tuple[str, bool], int] = {}
    try:
        pattern_set.Add(b"(?:)")  # the canary: missing from a result means the match failed
        for pattern, ignore_case in patterns:
            wrapped = f"(?i:{pattern})" if ignore_case else f"(?:{pattern})"
            index[pattern, ignore_case] = pattern_set.Add(wrapped.encode("utf-8", "surrogatepass"))
        pattern_set.Compile()
    except re2.error:
        return None, {}
    return (pattern_set, index) if index else (None, {})


def _quote_list(items: Sequence[str], limit: int = 4) -> str:
    shown = [f"`{item}`" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_UNSEEN = object()  # a file no rule has asked to read yet
# MSBuild project files, whose references decide what a central versions file's packages are for
_PROJECT_GLOBS = tuple(compile_glob(g) for g in ("*.csproj", "*.fsproj", "*.vbproj"))
MAX_MANIFESTS = 500  # manifests of one ecosystem read per evaluation (monorepos), shallowest first
READ_BUDGET = 64 << 20  # bytes of file content one evaluation reads in all (every checklist, one commit)
RULE_BUDGET = 8 << 20  # new bytes one rule may read (files read before are free), so no rule starves the rest
UNKNOWN_SIZE = 16 << 10  # what prefetch assumes for a file whose size the tree listing does not give
SCOPE_SLACK = 4  # candidates looked at per allowed one, so tests and docs do not crowd code out

# Path words that make a file likely to hold an item's evidence: the words of the item's id (less
# the generic ones below), their usual spellings in code, then words of the files where services
# wire things up. Ranked candidates are read before the merely shallow ones (docs/templates.md).
_GENERIC_WORDS = frozenset(
    [
        "and",
        "are",
        "check",
        "checks",
        "chosen",
        "collection",
        "configured",
        "endpoint",
        "endpoints",
        "for",
        "layer",
        "management",
        "policies",
        "policy",
        "scheme",
        "strategies",
        "strategy",
        "test",
        "tests",
        "the",
        "workflow",
    ]
)
_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "health": ("health", "status", "alive", "livez", "readyz", "probe", "ping"),
    "webhook": ("webhook", "hook", "hmac", "signature", "crypto"),
    "hmac": ("hmac", "signature", "crypto"),
    "shutdown": ("shutdown", "signal", "server", "worker", "command"),
    "graceful": ("graceful", "signal"),
    "rate": ("limit", "throttl", "attack"),
    "limiting": ("limit", "throttl"),
    "throttling": ("throttl", "limit"),
    "auth": ("auth", "login", "session", "security", "jwt"),
    "authentication": ("auth", "login", "session", "security", "jwt"),
    "cors": ("cors", "filter", "header"),
    "security": ("security", "header", "csp"),
    "headers": ("header",),
    "timeout": ("timeout", "client", "http"),
    "retry": ("retry", "backoff", "client"),
    "caching": ("cache",),
    "migrations": ("migrat", "schema", "database"),
    "seed": ("seed", "fixture", "sample", "demo"),
    "metrics": ("metric", "prometheus", "telemetry", "stats"),
    "tracing": ("trac", "telemetry", "otel"),
    "logging": ("log",),
    "versioning": ("version", "route", "api"),
    "queueing": ("queue", "job", "worker", "task"),
    "queues": ("queue", "job", "worker", "task"),
    "pool": ("pool", "database", "db"),
    "pooling": ("pool", "database", "db"),
    "environment": ("config", "setting", "env"),
}
_WIRING_WORDS = (
    "middleware",
    "setting",
    "config",
    "server",
    "router",
    "routes",
    "startup",
    "main",
    "program",
)


def rank_words(item_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words of the item, wiring words): a path holding one of the first is read first, one
    holding a wiring word next, the rest by depth."""
    own: list[str] = []
    for word in item_id.lower().replace("_", "-").split("-"):
        if len(word) < 3 or word in _GENERIC_WORDS:
            continue
        for w in _SYNONYMS.get(word, (word.rstrip("s") if len(word) > 4 else word,)):
            if w not in own:
                own.append(w)
    return tuple(own), tuple(w for w in _WIRING_WORDS if w not in own)


def _manifest_globs(rule: Dependency) -> tuple[str, ...]:
    ecosystems = ECOSYSTEMS if rule.ecosystem == "any" else (rule.ecosystem,)
    return tuple(g for e in ecosystems for g in MANIFEST_GLOBS[e])


def scoped_candidates(
    index: PathIndex, globs: Sequence[Glob], limit: int, scope: str, scopes: Scopes
) -> tuple[list[str], bool]:
    """The `limit` shallowest files matching `globs` that `scope` allows, looking at no more
    than SCOPE_SLACK times as many; True if capped.

    The index is asked for `limit` files first and for the wider window only when the scope filtered too
    many out, so a tree of mostly production code costs one lookup per glob list (asking for
    four times as many up front made every rule pay for the tests and docs of the worst tree)."""
    if scope == "any":
        return index.candidates(globs, limit)
    kinds, want = SCOPE_KINDS[scope], limit
    while True:
        found, capped = index.candidates(globs, want)
        allowed = list(compress(found, map(kinds.__contains__, scopes.kinds(found))))
        if len(allowed) >= limit or not capped or want >= limit * SCOPE_SLACK:
            return allowed[:limit], capped or len(allowed) > limit
        want *= SCOPE_SLACK


class _Candidates:
    """Each distinct (globs, scope, limit, words) resolved once per evaluation, most likely
    first: hundreds of rules share a few dozen glob lists, and the scope and strength of a path
    are the same for all of them."""

    def __init__(self, index: PathIndex, scopes: Scopes) -> None:
        self.index = index
        self.scopes = scopes
        self.memo: dict[tuple[tuple[str, ...], str, int], tuple[list[str], bool]] = {}
        self.ranked: dict[tuple[tuple[str, ...], str, int, tuple[str, ...]], list[str]] = {}
        self.strengths: dict[tuple[object, ...], list[int]] = {}  # window -> strength of each path
        self.joined: dict[tuple[object, ...], tuple[str, list[int]]] = {}  # window -> text, line starts
        self.word_lines: dict[tuple[object, ...], dict[str, list[int]]] = {}  # window -> word -> lines

    def get(
        self, globs: Sequence[Glob], limit: int, scope: str, words: tuple[tuple[str, ...], ...] = ()
    ) -> tuple[list[str], bool]:
        key = (tuple(g.text for g in globs), scope, limit)
        hit = self.memo.get(key)
        if hit is None:
            found, capped = scoped_candidates(self.index, globs, limit, scope, self.scopes)
            # strongest evidence first: code over config over docs over tests; stable, so depth next
            ranks = self.scopes.strengths(found)
            if any(ranks):
                order = sorted(range(len(found)), key=ranks.__getitem__)  # int keys: C-level compares
                found = list(map(found.__getitem__, order))
                ranks = sorted(ranks)
            self.strengths[key] = ranks
            hit = self.memo[key] = (found, capped)
        if not words or len(hit[0]) < 2:
            return hit
        wkey = (*key, tuple(w for tier in words for w in (*tier, "|")))
        ranked = self.ranked.get(wkey)
        if ranked is None:
            ranked = self.ranked[wkey] = self._rank(key, hit[0], words)
        return ranked, hit[1]

    def _rank(
        self, key: tuple[object, ...], found: list[str], words: tuple[tuple[str, ...], ...]
    ) -> list[str]:
        """Within each strength, paths naming a word of the first tier, then of the next, then the
        rest; stable, so depth decides inside a tier. Each (window, word) is found once per
        evaluation by substring search over the window joined into one string (C speed; most
        words occur in few paths), and the order comes from one sort on integer keys."""
        joined = self.joined.get(key)
        if joined is None:
            text = "\n".join(found).lower()  # line starts come from the lengths: a "\n" in a path is harmless
            starts = [0, *accumulate(len(p) + 1 for p in found)][:-1]
            joined = self.joined[key] = (text, starts)
        text, starts = joined
        tiers = len(words)
        tier_of = [tiers] * len(found)
        named = False
        for number in range(tiers - 1, -1, -1):  # the first tier a path is in wins
            for word in words[number]:
                for line in self._lines_with(key, word, text, starts):
                    tier_of[line] = number
                    named = True
        if not named:
            return found  # already by strength, then depth
        ranks = map(mul, self.strengths[key], repeat(tiers + 1))
        order_key = list(map(add, ranks, tier_of))  # (strength, tier) as one int: C-level compares
        return list(map(found.__getitem__, sorted(range(len(found)), key=order_key.__getitem__)))

    def _lines_with(self, key: tuple[object, ...], word: str, text: str, starts: list[int]) -> list[int]:
        memo = self.word_lines.setdefault(key, {})
        lines = memo.get(word)
        if lines is None:
            lines = []
            at = text.find(word)
            while at >= 0:
                line = bisect_right(starts, at) - 1
                lines.append(line)
                at = text.find(word, starts[line + 1] if line + 1 < len(starts) else len(text))
            memo[word] = lines
        return lines


class _Evaluation:
    """State shared while evaluating checklists on one snapshot: the index and a read cache."""

    def __init__(
        self,
        snapshot: RepoSnapshot,
        index: PathIndex,
        max_bytes: int,
        scopes: Scopes | None = None,
        budget: int | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.budget = (
            READ_BUDGET if budget is None else budget
        )  # bytes left to read; once spent, files not read yet count as unreadable
        self.index = index
        self.max_bytes = max_bytes
        self.scopes = scopes or Scopes()
        self.candidates = _Candidates(index, self.scopes)
        self.manifests: dict[str, Manifest | None] = {}
        self.msbuild_dev: frozenset[str] | None = None  # see `msbuild_test_only`
        self.raw: dict[str, bytes | None] = {}
        self.hits: dict[int, dict[str, frozenset[int] | None]] = {}  # per checklist, per path
        self.ci_names: dict[str, re.Pattern[str]] = {}
        self.words: tuple[tuple[str, ...], ...] = ()  # rank words of the item being evaluated

    def item(self, item_id: str, rule: Rule, c: CompiledChecklist) -> Verdict:
        self.words = rank_words(item_id)
        return self.rule(rule, c)

    def rule(self, rule: Rule, c: CompiledChecklist) -> Verdict:
        if isinstance(rule, Files):
            return self.files(rule, c)
        if isinstance(rule, Contains):
            return self.contains(rule, c)
        if isinstance(rule, Dependency):
            return self.dependency(rule, c)
        if isinstance(rule, CI):
            return self.ci(rule)
        if isinstance(rule, Not):
            inner = self.rule(rule.rule, c)
            return Verdict(not inner.passed, inner.evidence)
        if isinstance(rule, Any):
            reasons: list[str] = []
            for child in rule.rules:
                verdict = self.rule(child, c)
                if verdict.passed:
                    return verdict
                reasons.extend(verdict.evidence)
            return Verdict(False, tuple(reasons))
        passed: list[str] = []
        for child in rule.rules:
            verdict = self.rule(child, c)
            if not verdict.passed:
                return verdict
            passed.extend(verdict.evidence)
        return Verdict(True, tuple(passed))

    def files(self, rule: Files, c: CompiledChecklist) -> Verdict:
        best, count, more = self.index.best([c.globs[g] for g in rule.globs])
        if best is None:
            return Verdict(False, (f"no file matches {_quote_list(rule.globs)}",))
        text, shown = f"found `{best}`", 1
        if best.endswith("/"):
            shown = self.index.count_below(best)
            text += f" ({plural(shown, 'file')})"
        if more:
            text += f" and more than {count - shown} others" if count > shown + 1 else " and more"
        elif count > shown:
            text += f" and {count - shown} more"
        return Verdict(True, (text,))

    def load(self, path: str) -> bytes | None:
        """A file's first bytes, read once per evaluation; None for unreadable, binary or non-UTF-8,
        and for every file once the evaluation's read budget is spent (what was read still counts)."""
        data = self.snapshot.read(path) if self.budget > 0 else None
        if data is not None:
            data = data[: self.max_bytes]
            self.budget -= len(data)
            if b"\0" in data[:8192] or not _is_text(data):
                data = None
        self.raw[path] = data
        return data

    def contains(self, rule: Contains, c: CompiledChecklist) -> Verdict:
        globs = [c.globs[g] for g in rule.globs]
        searched, capped = self.candidates.get(globs, rule.max_files, rule.scope, self.words)
        if not searched:
            where = ""
            if rule.scope != "any" and self.index.candidates(globs, 1)[0]:
                scope = "code" if rule.scope == CODE_AND_DOCS else rule.scope
                where = f" in {scope} (scope `{scope}`; the matching files are tests, docs or examples)"
            return Verdict(False, (f"no file matches {_quote_list(rule.globs)}{where}",))
        regex = c.patterns[rule.pattern, rule.ignore_case]
        slot = c.set_index.get((rule.pattern, rule.ignore_case))
        hits = self.hits.setdefault(id(c), {})
        raw, cap = self.raw, rule.max_bytes
        floor = self.budget - RULE_BUDGET  # this rule's share of new reads
        looked = len(searched)
        # what is known already, at C speed: most candidates were found unreadable (or never
        # matched) by an earlier rule, and only the others need a look
        known = list(map(raw.get, searched, repeat(_UNSEEN)))
        for at in compress(range(len(searched)), map(is_not, known, repeat(None))):
            path, data = searched[at], known[at]
            if data is _UNSEEN:
                if self.budget <= floor:  # its share is spent: what is unread stays unread
                    capped, looked = True, at
                    break
                data = self.load(path)
                if data is None:
                    continue
            assert isinstance(data, bytes)
            if slot is not None and len(data) <= cap:  # the set saw all the bytes this rule may
                found = hits[path] if path in hits else self.scan(c, path, data)
                if found is not None and slot not in found:
                    continue
            match = live_match(regex, data if len(data) <= cap else data[:cap], path)
            if match is not None:
                line = data.count(b"\n", 0, match.start()) + 1
                text = match.group(0).decode("utf-8", "replace")
                return Verdict(True, (f"`{path}:{line}` matches `{_short(text)}`",))
        files = f"the first {looked} files" if capped else plural(len(searched), "file")
        return Verdict(
            False, (f"`{_short(rule.pattern)}` not found in {files} matching {_quote_list(rule.globs)}",)
        )

    def dependency(self, rule: Dependency, c: CompiledChecklist) -> Verdict:
        globs = [c.globs[g] for g in _manifest_globs(rule)]
        paths, _ = self.candidates.get(globs, MAX_MANIFESTS, rule.scope)
        wanted = [(n.endswith("*"), n.rstrip("*")) for n in rule.names]
        warnings: list[str] = []
        listed = set(paths)
        production = rule.scope != "any"  # `code` claims are about what the service runs with
        catalog = self.catalog_refs(paths) if production else (frozenset(), frozenset())
        for path in paths:
            if _declared_beside(path, listed):
                continue  # a lock file's extra names are transitive: its manifest says what was chosen
            manifest = self.manifest(path)
            if manifest is None:
                continue
            if manifest.warning:
                warnings.append(manifest.warning)
                continue
            skip = manifest.dev if production else frozenset()
            if manifest.aliases and catalog[1]:
                skip = skip | _catalog_dev(manifest, *catalog)
            if production and manifest.central_versions:
                skip = skip | self.msbuild_test_only()
            for prefix, name in wanted:
                key = normalise(manifest.ecosystem, name)
                if prefix:
                    hit = next((k for k in manifest.packages if k.startswith(key) and k not in skip), None)
                else:
                    hit = key if key in manifest.packages and key not in skip else None
                if hit is not None:
                    written, line = manifest.packages[hit]
                    return Verdict(True, (f"`{path}:{line}`: {written}",), tuple(warnings))
        what = f"{rule.ecosystem} " if rule.ecosystem != "any" else ""
        if not paths:
            reason = f"no {what}manifest (dependency file) found"
        else:
            reason = f"no {what}dependency on {_quote_list(rule.names)} in {plural(len(paths), 'manifest')}"
        return Verdict(False, (reason, *warnings), tuple(warnings))

    def catalog_refs(self, paths: Sequence[str]) -> tuple[frozenset[str], frozenset[str]]:
        """Version-catalog accessors the Gradle build files use: (in a production configuration,
        in test configurations only). The catalog says what a library is, the build file whether
        production code gets it."""
        prod: set[str] = set()
        test: set[str] = set()
        for path in paths:
            if path.endswith((".gradle", ".gradle.kts")):
                manifest = self.manifest(path)
                if manifest is not None:
                    prod |= manifest.catalog_refs
                    test |= manifest.catalog_test_refs
        return frozenset(prod), frozenset(test - prod)

    def msbuild_test_only(self) -> frozenset[str]:
        """Packages only test, benchmark or sample projects reference: a central versions file
        (`Directory.Packages.props`) lists every version, the `*.csproj` referencing a package says
        whether production code gets it (one no project references stays a production dependency,
        as in a Gradle version catalog: unknown is not evidence of a test one)."""
        if self.msbuild_dev is None:
            paths, _ = self.candidates.get(_PROJECT_GLOBS, MAX_MANIFESTS, "any")
            prod: set[str] = set()
            other: set[str] = set()
            for path in paths:
                manifest = self.manifest(path)
                if manifest is not None and not manifest.warning:
                    production = not manifest.test_project and self.scopes.kind(path) == "code"
                    (prod if production else other).update(manifest.packages)
            self.msbuild_dev = frozenset(other - prod)
        return self.msbuild_dev

    def manifest(self, path: str) -> Manifest | None:
        if path not in self.manifests:
            data = self.raw[path] if path in self.raw else self.load(path)
            self.manifests[path] = parse_manifest(path, data) if data is not None else None
        return self.manifests[path]

    def scan(self, c: CompiledChecklist, path: str, data: bytes) -> frozenset[int] | None:
        """Which of the checklist's patterns occur in a file, from one pass; None if unknown."""
        found = c.pattern_set.Match(data) if c.pattern_set is not None else None
        result = frozenset(found) if found and 0 in found else None  # no canary: the match failed
        self.hits[id(c)][path] = result
        return result

    def ci(self, rule: CI) -> Verdict:
        head = self.snapshot.commit
        results = [r for r in self.snapshot.ci if not (head and r.commit and r.commit != head)]
        matched = [r for r in results if any(self._ci_regex(g).match(r.name) for g in rule.globs)]
        on = f" on {head[:7]}" if head else ""
        for result in matched:
            if result.conclusion == SUCCESS:
                sha = (result.commit or head or "")[:7]
                return Verdict(True, (f"job `{result.name}` succeeded" + (f" on {sha}" if sha else ""),))
        if matched:
            states = ", ".join(f"`{r.name}` {r.conclusion}" for r in matched[:3])
            return Verdict(
                False, (f"no successful CI job matching {_quote_list(rule.globs)}{on} ({states})",)
            )
        return Verdict(False, (f"no CI job matches {_quote_list(rule.globs)}{on}",))

    def _ci_regex(self, glob: str) -> re.Pattern[str]:
        if glob not in self.ci_names:
            self.ci_names[glob] = re.compile(fnmatch.translate(glob), re.IGNORECASE)
        return self.ci_names[glob]


MAX_DEAD_MATCHES = 16  # matches in comments or switched off skipped per file before giving up on it
_PROSE_EXTS = (".md", ".mdx", ".rst", ".adoc", ".asciidoc", ".txt", ".html")  # `#` is a heading there
# a line that is a comment: `#` (not a Rust/PHP attribute `#[`, `#!`), `//`, `/*`, ` * ` of a block, `<!--`
_COMMENT = re.compile(rb"[ \t]*(?:#(?![\[!])|//|/\*|\*(?:[ \t/]|$)|<!--)")
# the rest of a line after a matched setting that switches it off: `enabled: false`, `retries = 0`
_OFF = re.compile(
    rb"""["']?[ \t]*[:=]>?[ \t]*["']?(?:false|False|FALSE|0|no|off|nil|null|None)\b"""
    rb"""["']?[ \t]*[,;]?[ \t]*(?:$|#|//)"""
)
_OFF_NEXT = re.compile(rb"[ \t]+(?:enabled|enable|active)[ \t]*[:=][ \t]*(?:false|False|no|off)\b")


def live_match(regex: re2._Regexp, data: bytes, path: str) -> re2._Match | None:
    """The first match that is not inside a comment line and not a setting switched off (`x: false`,
    `x = 0`, or a block whose next line says `enabled: false`); prose files are taken as they are.
    Each retry starts past the dead match's line, so a file costs at most MAX_DEAD_MATCHES scans."""
    match = regex.search(data)
    if match is None or path.lower().endswith(_PROSE_EXTS):
        return match
    for _ in range(MAX_DEAD_MATCHES):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        end = len(data) if end < 0 else end
        comment = _COMMENT.match(data, start)
        dead = comment is not None and comment.end() <= match.start()
        if not dead:
            dead = _OFF.match(data, match.end(), end) is not None or (
                match.end() >= end - 1 and _OFF_NEXT.match(data, end + 1) is not None
            )
        if not dead:
            return match
        match = regex.search(data, end)
        if match is None:
            return None
    return None


def _catalog_dev(catalog: Manifest, prod: frozenset[str], test_only: frozenset[str]) -> frozenset[str]:
    """The catalog's libraries that reach the build through test-only accessors alone (one that no
    build file references stays a production dependency: unknown is not evidence of a test one)."""
    test = {n for a in test_only for n in catalog.aliases.get(a, ())}
    used = {n for a in prod for n in catalog.aliases.get(a, ())}
    return frozenset(test - used)


def _declared_beside(path: str, listed: set[str]) -> bool:
    """True for a lock file whose declaring manifest sits in the same directory."""
    head, _, name = path.rpartition("/")
    manifest = LOCK_OF.get(name)
    return manifest is not None and (f"{head}/{manifest}" if head else manifest) in listed


def _is_text(data: bytes) -> bool:
    """Valid UTF-8, allowing one character cut in half at the end by a size cap."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def read_budget(compiled: Sequence[CompiledChecklist]) -> int:
    """The most bytes of one file any `contains` rule looks at (manifests get the default)."""
    return max(
        (n.max_bytes for c in compiled for _, r in c.rules for n in _walk(r) if isinstance(n, Contains)),
        default=DEFAULT_MAX_BYTES,
    )


def needs_ci(compiled: Sequence[CompiledChecklist]) -> bool:
    """True when some item has a `ci` rule: only then is reading CI results worth API calls."""
    return any(isinstance(n, CI) for c in compiled for _, r in c.rules for n in _walk(r))


def files_to_read(
    compiled: Sequence[CompiledChecklist],
    index: PathIndex,
    scopes: Scopes | None = None,
    sizes: Mapping[str, int] | None = None,
) -> list[str]:
    """Every file a rule may read, in the order the evaluation reads them and within the same
    budgets (RULE_BUDGET new bytes per rule, READ_BUDGET in all; sizes from the tree listing,
    UNKNOWN_SIZE where it gives none), so a caller can fetch them in a few batched calls before
    evaluating instead of one call each, and never fetches what the evaluation may not read."""
    scopes, sizes = scopes or Scopes(), sizes or {}
    with paused_gc():
        index.prime(g for c in compiled for g in c.globs.values())
        wanted: dict[str, None] = {}
        candidates = _Candidates(index, scopes)
        left = READ_BUDGET
        for c in compiled:
            for item_id, rule in c.rules:
                words = rank_words(item_id)
                for node in _walk(rule):
                    if isinstance(node, Contains):
                        globs = [c.globs[g] for g in node.globs]
                        found, _ = candidates.get(globs, node.max_files, node.scope, words)
                        cap = node.max_bytes
                    elif isinstance(node, Dependency):
                        globs = [c.globs[g] for g in _manifest_globs(node)]
                        found, _ = candidates.get(globs, MAX_MANIFESTS, node.scope)
                        cap = DEFAULT_MAX_BYTES
                    else:
                        continue
                    share = RULE_BUDGET
                    for path in found:
                        if path in wanted:
                            continue
                        if share <= 0 or left <= 0:
                            break
                        cost = min(sizes.get(path, UNKNOWN_SIZE), cap)
                        share -= cost
                        left -= cost
                        wanted[path] = None
        return list(wanted)


def evaluate_many(
    compiled: Sequence[CompiledChecklist],
    snapshot: RepoSnapshot,
    *,
    index: PathIndex | None = None,
    scopes: Scopes | None = None,
) -> list[dict[str, Verdict]]:
    """Evaluate several checklists on one snapshot, sharing the path index and file reads."""
    with paused_gc():  # thousands of short-lived containers, no cycles
        index = index or PathIndex.build(snapshot.paths)
        index.prime(g for c in compiled for g in c.globs.values())
        run = _Evaluation(snapshot, index, read_budget(compiled), scopes)
        return [{item_id: run.item(item_id, rule, c) for item_id, rule in c.rules} for c in compiled]


def evaluate(
    compiled: CompiledChecklist,
    snapshot: RepoSnapshot,
    *,
    index: PathIndex | None = None,
    scopes: Scopes | None = None,
) -> dict[str, Verdict]:
    """Verdicts for the automatic items of one checklist, keyed by item id."""
    return evaluate_many([compiled], snapshot, index=index, scopes=scopes)[0]
