"""Whether an item applies to a repository at all (`applies_when:` on an item or a section).

An HTTP client library judged on health endpoints, rate limiting and migrations fails items that
were never its business, and a checklist full of those teaches a team to ignore it. A condition
names what the repository must be for the item to count: a language found in it, a path that
exists, the `profile:` its `.readiness.yml` declares, or (on GitHub) one of its topics. Keys are
AND'ed, the values of one key OR'ed. What the bot cannot know (no `profile:` declared, topics off
GitHub) never rules an item out: an unknown is not a reason to stop asking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.globs import GlobError, compile_glob
from bot.core.rule_syntax import _describe
from bot.core.yamlload import suggest

if TYPE_CHECKING:
    from bot.core.pathindex import PathIndex

APPLIES_KEYS = ("languages", "paths", "profile", "topics")
PROFILES = ("service", "library", "worker", "frontend", "cli")
# a language is detected when a production file of it exists (vendored code is left out before)
LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": ("*.py",),
    "javascript": ("*.js", "*.mjs", "*.cjs", "*.jsx"),
    "typescript": ("*.ts", "*.tsx", "*.mts", "*.cts"),
    "go": ("*.go",),
    "ruby": ("*.rb", "Gemfile"),
    "elixir": ("*.ex", "*.exs"),
    "java": ("*.java",),
    "kotlin": ("*.kt", "*.kts"),
    "rust": ("*.rs",),
    "php": ("*.php",),
    "csharp": ("*.cs",),
    "scala": ("*.scala",),
    "swift": ("*.swift",),
}
TOPIC_MAX = 50  # GitHub's topic length limit


@dataclass(frozen=True, slots=True)
class Condition:
    """`applies_when`: every non-empty key must hold; within a key any value will do."""

    languages: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What is known about a repository; None where it cannot be known (then nothing is ruled out)."""

    languages: frozenset[str]
    has_path: Callable[[str], bool]
    profile: str | None = None
    topics: frozenset[str] | None = None


Fail = Callable[[tuple[str | int, ...], str, str | None, bool], Exception]
"""Builds the error for a key path inside the condition, a message, an optional suggestion and
whether it is about the key itself (else its value)."""


def parse_condition(data: object, fail: Fail) -> Condition:
    """Validate `applies_when:` data loaded from YAML; `fail` points the error at the file and line."""
    if not isinstance(data, dict) or not data:
        raise fail(
            (),
            f"expected a mapping with one or more of {', '.join(APPLIES_KEYS)}, got {_describe(data)}",
            None,
            False,
        )
    for key in data:
        if key not in APPLIES_KEYS:
            raise fail(
                (key,),
                f"unknown key '{key}' in `applies_when`; expected {', '.join(APPLIES_KEYS)}",
                suggest(str(key), APPLIES_KEYS),
                True,
            )
    values = {key: _strings(data[key], key, fail) for key in data}
    for i, language in enumerate(values.get("languages", ())):
        if language not in LANGUAGES:
            raise fail(
                _at(data, "languages", i),
                f"unknown language '{language}'; expected one of {', '.join(LANGUAGES)}",
                suggest(language, tuple(LANGUAGES)),
                False,
            )
    for i, profile in enumerate(values.get("profile", ())):
        if profile not in PROFILES:
            raise fail(
                _at(data, "profile", i),
                f"unknown profile '{profile}'; expected one of {', '.join(PROFILES)}",
                suggest(profile, PROFILES),
                False,
            )
    for i, glob in enumerate(values.get("paths", ())):
        try:
            compile_glob(glob)
        except GlobError as exc:
            raise fail(_at(data, "paths", i), f"glob '{glob}': {exc}", None, False) from None
    for i, topic in enumerate(values.get("topics", ())):
        if len(topic) > TOPIC_MAX or topic != topic.lower():
            raise fail(
                _at(data, "topics", i),
                f"topic '{topic}': GitHub topics are lower case and at most {TOPIC_MAX} characters",
                None,
                False,
            )
    return Condition(
        languages=values.get("languages", ()),
        paths=values.get("paths", ()),
        profiles=values.get("profile", ()),
        topics=values.get("topics", ()),
    )


def _at(data: dict[str, object], key: str, i: int) -> tuple[str | int, ...]:
    return (key, i) if isinstance(data[key], list) else (key,)


def _strings(value: object, key: str, fail: Fail) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise fail(
            (key,),
            f"`{key}` expects a string or a non-empty list of strings, got {_describe(value)}",
            None,
            False,
        )
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            where = (key, i) if isinstance(value, list) else (key,)
            raise fail(where, f"expected a non-empty string, got {_describe(item)}", None, False)
    return tuple(items)


# ---------------------------------------------------------------------------------------- deciding


def language_globs() -> list[str]:
    return sorted({g for globs in LANGUAGES.values() for g in globs})


def detect_languages(index: PathIndex) -> frozenset[str]:
    """Languages with at least one file in the tree (one cheap lookup per extension)."""
    found = set()
    for language, globs in LANGUAGES.items():
        if index.candidates([compile_glob(g) for g in globs], 1)[0]:
            found.add(language)
    return frozenset(found)


def repository_facts(
    index: PathIndex, *, profile: str | None = None, topics: Iterable[str] | None = None
) -> Facts:
    """The facts `applies_when` is decided on, from the path index and what the platform says."""

    def has_path(glob: str) -> bool:
        return bool(index.candidates([compile_glob(glob)], 1)[0])

    return Facts(
        detect_languages(index),
        has_path,
        profile,
        frozenset(t.lower() for t in topics) if topics is not None else None,
    )


def reason_not_applicable(condition: Condition, facts: Facts) -> str | None:
    """None when the item applies; else why not, in words a reader of the issue understands."""
    if condition.profiles and facts.profile is not None and facts.profile not in condition.profiles:
        return f"profile is {facts.profile}; this applies to {_either(condition.profiles)}"
    if condition.languages and not facts.languages.intersection(condition.languages):
        return f"no {_either(condition.languages)} code found"
    if condition.paths and not any(map(facts.has_path, condition.paths)):
        return f"no file matches {_either([f'`{p}`' for p in condition.paths])}"
    if condition.topics and facts.topics is not None and not facts.topics.intersection(condition.topics):
        return f"the repository has none of the topics {_either(condition.topics)}"
    return None


def _either(values: Sequence[str]) -> str:
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
