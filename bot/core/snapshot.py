"""What the rule engine may look at in a repository: plain data plus a lazy file reader.

The snapshot is built at the edges (a local checkout, a GitHub/GitLab tree at a commit) so the
rule engine stays pure and never decides *how* files are fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Conclusions we normalise every CI provider to.
SUCCESS = "success"
FAILURE = "failure"
PENDING = "pending"
SKIPPED = "skipped"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CIResult:
    """One CI job / check run / commit status on a commit, normalised across platforms."""

    name: str
    conclusion: str  # one of SUCCESS, FAILURE, PENDING, SKIPPED, CANCELLED
    url: str | None = None
    commit: str | None = None


FileReader = Callable[[str], bytes | None]
"""Returns a file's bytes (possibly truncated to a cap) or None when it cannot be read."""


def _no_files(_path: str) -> bytes | None:
    return None


@dataclass(frozen=True, slots=True)
class RepoSnapshot:
    """A repository at one commit: every tracked path, a lazy reader, and CI results."""

    paths: Sequence[str]
    read: FileReader = _no_files
    ci: Sequence[CIResult] = field(default_factory=tuple)
    commit: str | None = None
