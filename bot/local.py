"""A RepoSnapshot of a local directory, for `readiness check` (works with no network).

Inside a git work tree we use exactly the tracked files (what the bot would see on the platform);
elsewhere we walk the directory and honour `.gitignore` files the way git would.
"""

from __future__ import annotations

import json
import os
import subprocess  # only _git below, with a fixed argv  # nosec B404
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from bot.core.errors import InputError
from bot.core.snapshot import CANCELLED, FAILURE, PENDING, SKIPPED, SUCCESS, CIResult, RepoSnapshot
from bot.core.yamlload import MAX_FILE_BYTES, READ_CAP

DEFAULT_MAX_BYTES = READ_CAP  # as the bot reads: one byte over the limit, so loaders can say "too big"
_CONCLUSIONS = (SUCCESS, FAILURE, PENDING, SKIPPED, CANCELLED)


@dataclass(frozen=True, slots=True)
class LocalCheckout:
    """A snapshot plus how it was taken, so the report can say which files it looked at."""

    snapshot: RepoSnapshot
    root: Path
    mode: str  # "git" (tracked files only) or "walk" (all files not ignored by .gitignore)

    @property
    def description(self) -> str:
        n = len(self.snapshot.paths)
        if self.mode == "git":
            return f"{n} tracked files (git ls-files; untracked files are not considered)"
        return f"{n} files (not a git work tree: walked the directory, honouring .gitignore)"


def local_snapshot(
    path: Path, *, ci: Sequence[CIResult] = (), max_bytes: int = DEFAULT_MAX_BYTES
) -> RepoSnapshot:
    """The snapshot of a local checkout; see `scan_local` for how files are chosen."""
    return scan_local(path, ci=ci, max_bytes=max_bytes).snapshot


class GlobDatabaseFiles:
    """`pathscan.store` for `readiness check`: compiled glob databases kept as files in the user's
    cache directory, so each run loads the shipped templates' globs in milliseconds instead of
    compiling them again (a sixth of the CPU on a 100,000-file checkout). Written atomically;
    only the most recently used KEEP are kept; anything unreadable is simply compiled again."""

    KEEP = 8

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> GlobDatabaseFiles:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return cls(Path(base) / "readiness-bot" / "globs")

    def load(self, key: str) -> bytes | None:
        try:
            return (self.root / f"{key}.hsdb").read_bytes()
        except OSError:
            return None

    def save(self, key: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.root / f"{key}.{os.getpid()}.tmp"
        partial.write_bytes(data)
        os.replace(partial, self.root / f"{key}.hsdb")
        kept = sorted(self.root.glob("*.hsdb"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in kept[self.KEEP :]:
            old.unlink(missing_ok=True)


def scan_local(
    path: Path, *, ci: Sequence[CIResult] = (), max_bytes: int = DEFAULT_MAX_BYTES
) -> LocalCheckout:
    root = Path(os.path.realpath(path))  # realpath: a symlink loop is "not a directory", not a crash
    if not root.is_dir():
        raise NotADirectoryError(f"{path}: not a directory")
    tracked = _git_tracked(root)
    mode = "git" if tracked is not None else "walk"
    paths = tracked if tracked is not None else _walk(root)
    commit = _git_head(root) if tracked is not None else None
    snapshot = RepoSnapshot(
        paths=tuple(sorted(paths)), read=_reader(root, max_bytes), ci=tuple(ci), commit=commit
    )
    return LocalCheckout(snapshot=snapshot, root=root, mode=mode)


def _git(root: Path, *args: str) -> bytes | None:
    try:
        # git from PATH like the user's own shell; argv is fixed by this module, never a shell string
        done = subprocess.run(  # noqa: S603  # nosec B603 B607
            ["git", *args],  # noqa: S607
            cwd=root,
            capture_output=True,
            check=False,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):  # git not installed, or stuck
        return None
    return done.stdout if done.returncode == 0 else None


def _git_together(root: Path, *commands: tuple[str, ...]) -> list[bytes | None]:
    """Like `_git` for each command, all running at the same time."""
    running: list[subprocess.Popen[bytes] | None] = []
    for args in commands:
        try:  # argv fixed by this module, as in _git
            running.append(
                subprocess.Popen(  # noqa: S603  # nosec B603 B607
                    ["git", *args],  # noqa: S607
                    cwd=root,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL,
                )
            )
        except OSError:
            running.append(None)
    found: list[bytes | None] = []
    for process in running:
        if process is None:
            found.append(None)
            continue
        try:
            out, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            found.append(None)
            continue
        found.append(out if process.returncode == 0 else None)
    return found


def _git_tracked(root: Path) -> list[str] | None:
    """Tracked paths relative to `root` (deleted-but-unstaged files left out), or None outside git."""
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside is None or inside.strip() != b"true":
        return None
    # at once: on 100,000 files finding the deleted ones (a stat of every file) is most of the
    # wait, and diff-files stats them on several threads (0.5 s where `ls-files --deleted` took 1.3)
    cached, deleted = _git_together(
        root,
        ("-c", "core.quotepath=off", "ls-files", "-z", "--cached"),
        ("diff-files", "-z", "--name-only", "--diff-filter=D", "--relative"),
    )
    if cached is None:
        return None
    gone = set(_split_z(deleted or b""))
    return [p for p in _split_z(cached) if p not in gone]


def _split_z(raw: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in raw.split(b"\0") if p]


def _git_head(root: Path) -> str | None:
    head = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    return head.decode().strip() if head else None


def _walk(root: Path) -> list[str]:
    """Every file under root not ignored by a `.gitignore` (nested files apply below their directory)."""
    found: list[str] = []
    specs: dict[str, GitIgnoreSpec] = {}  # directory (relative, "" for root) -> its .gitignore

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if ".gitignore" in filenames:
            try:
                lines = (Path(dirpath) / ".gitignore").read_text(encoding="utf-8", errors="replace")
                specs[rel_dir] = GitIgnoreSpec.from_lines(lines.splitlines())
            except OSError:
                pass
        keep_dirs = []
        for name in sorted(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if name == ".git" or _ignored(specs, rel, is_dir=True):
                continue
            if os.path.islink(os.path.join(dirpath, name)):  # git records a symlink as a file
                found.append(rel)
                continue
            keep_dirs.append(name)
        dirnames[:] = keep_dirs  # prune: nothing below an ignored directory can be re-included
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not _ignored(specs, rel, is_dir=False):
                found.append(rel)
    return found


def _ignored(specs: dict[str, GitIgnoreSpec], rel: str, *, is_dir: bool) -> bool:
    """git's rule: the deepest .gitignore with a matching pattern decides, its last match wins."""
    decision = False
    parts = rel.split("/")
    for depth in range(len(parts)):
        base = "/".join(parts[:depth])
        spec = specs.get(base)
        if spec is None:
            continue
        sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
        result = spec.check_file(sub)
        if result.include is not None:
            decision = result.include
    return decision


def _reader(root: Path, max_bytes: int):
    def read(rel: str) -> bytes | None:
        if rel.startswith("/") or ".." in rel.split("/"):
            return None
        return read_capped(root, rel, max_bytes)

    return read


def read_capped(root: Path, rel: str, max_bytes: int = READ_CAP) -> bytes | None:
    """A regular file below `root`, at most `max_bytes` of it; None when it is outside `root`,
    missing, not a regular file (a device, a FIFO) or a symlink loop (`resolve()` raised there)."""
    target = Path(os.path.realpath(root / rel))
    try:
        if not target.is_relative_to(root) or not target.is_file():
            return None
        with target.open("rb") as fh:
            return fh.read(max_bytes)
    except OSError:
        return None


def load_ci_results(text: str, *, filename: str) -> list[CIResult]:
    """`--ci-results FILE`: a JSON list of `{"name": ..., "conclusion": ...}` from a CI run."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise InputError(
            filename, f"file is more than {MAX_FILE_BYTES} bytes; the limit is {MAX_FILE_BYTES} bytes"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(filename, f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:  # the decoder recurses once per nesting level
        raise InputError(filename, "JSON nested too deeply; expected a flat list of results") from None
    if not isinstance(data, list):
        raise InputError(filename, 'expected a JSON list like [{"name": "test", "conclusion": "success"}]')
    results = []
    for i, entry in enumerate(data):
        where = f"[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise InputError(filename, "expected an object with a non-empty string `name`", path=where)
        conclusion = entry.get("conclusion")
        if conclusion not in _CONCLUSIONS:
            raise InputError(
                filename, f"`conclusion` must be one of {', '.join(_CONCLUSIONS)}", path=f"{where}.conclusion"
            )
        url, commit = entry.get("url"), entry.get("commit")
        results.append(
            CIResult(
                name=entry["name"],
                conclusion=conclusion,
                url=url if isinstance(url, str) else None,
                commit=commit if isinstance(commit, str) else None,
            )
        )
    return results
