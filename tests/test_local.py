"""The local snapshot sees what the bot would see: tracked files in git, else a .gitignore-aware walk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.core import pathscan
from bot.core.errors import InputError
from bot.core.globs import compile_glob
from bot.core.pathindex import matching_any
from bot.core.snapshot import SUCCESS
from bot.local import GlobDatabaseFiles, load_ci_results, local_snapshot, scan_local

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@needs_git
def test_git_work_tree_lists_tracked_files_only(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    _write(
        tmp_path, {"Dockerfile": "FROM python\n", "src/app.py": "print()\n", "docs/adr/0001.md": "# ADR\n"}
    )
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    _write(tmp_path, {"untracked.txt": "not added\n", "src/new.py": "x = 1\n"})
    (tmp_path / "docs/adr/0001.md").unlink()  # deleted in the work tree, not yet staged

    checkout = scan_local(tmp_path)

    assert checkout.mode == "git"
    assert list(checkout.snapshot.paths) == ["Dockerfile", "src/app.py"]
    assert checkout.snapshot.commit == git(tmp_path, "rev-parse", "HEAD").strip()
    assert checkout.snapshot.read("Dockerfile") == b"FROM python\n"
    assert (
        "tracked files" in checkout.description
        and "untracked files are not considered" in checkout.description
    )


@needs_git
def test_a_subdirectory_of_a_work_tree_lists_its_own_tracked_files_relative_to_it(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    _write(
        tmp_path, {"top.md": "x", "svc/app.py": "x", "svc/gone.py": "x", "svc/lib/b.py": "x", "gone.md": "x"}
    )
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    (tmp_path / "svc/gone.py").unlink()
    (tmp_path / "gone.md").unlink()  # deleted outside the subdirectory: not its business

    assert list(scan_local(tmp_path / "svc").snapshot.paths) == ["app.py", "lib/b.py"]
    assert list(scan_local(tmp_path).snapshot.paths) == ["svc/app.py", "svc/lib/b.py", "top.md"]


@needs_git
def test_git_repository_without_commits_still_lists_staged_files(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    _write(tmp_path, {"a.txt": "a"})
    git(tmp_path, "add", "a.txt")

    snapshot = local_snapshot(tmp_path)

    assert list(snapshot.paths) == ["a.txt"]
    assert snapshot.commit is None


def test_plain_directory_walk_honours_nested_gitignore_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gitignore": "build/\n*.log\n!keep.log\n/top-only.txt\n",
            "build/out.bin": "x",
            "app.log": "x",
            "keep.log": "x",
            "top-only.txt": "x",
            "sub/top-only.txt": "kept: the pattern is anchored at the root",
            "sub/.gitignore": "secret.env\n!important.log\n",
            "sub/secret.env": "x",
            "sub/important.log": "re-included by the deeper file",
            "other/secret.env": "only ignored under sub/",
            ".git/config": "a stray .git directory is never listed",
            "src/main.py": "print()",
        },
    )

    checkout = scan_local(tmp_path)

    assert checkout.mode == "walk"
    assert sorted(checkout.snapshot.paths) == [
        ".gitignore",
        "keep.log",
        "other/secret.env",
        "src/main.py",
        "sub/.gitignore",
        "sub/important.log",
        "sub/top-only.txt",
    ]
    assert "not a git work tree" in checkout.description


def test_reader_caps_size_and_stays_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    _write(tmp_path, {"repo/big.txt": "x" * 100, "outside.txt": "secret"})
    (tmp_path / "repo/link.txt").symlink_to(tmp_path / "outside.txt")

    snapshot = local_snapshot(tmp_path / "repo", max_bytes=10)

    assert snapshot.read("big.txt") == b"x" * 10
    assert snapshot.read("../outside.txt") is None
    assert snapshot.read("link.txt") is None
    assert snapshot.read("missing.txt") is None


def test_not_a_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        local_snapshot(tmp_path / "nope")


def test_ci_results_file_is_parsed_and_validated() -> None:
    results = load_ci_results('[{"name": "load-test", "conclusion": "success"}]', filename="ci.json")
    assert [(r.name, r.conclusion) for r in results] == [("load-test", SUCCESS)]

    with pytest.raises(InputError) as bad:
        load_ci_results('[{"name": "lint", "conclusion": "green"}]', filename="ci.json")
    assert str(bad.value) == (
        "ci.json: [0].conclusion: `conclusion` must be one of success, failure, pending, skipped, cancelled"
    )

    with pytest.raises(InputError) as broken:
        load_ci_results("[{", filename="ci.json")
    assert str(broken.value).startswith("ci.json:1:3: not valid JSON")


@pytest.mark.skipif(pathscan._hs is None, reason="hyperscan is not installed on this platform")
def test_compiled_globs_are_kept_for_the_next_run_and_a_damaged_file_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pathscan, "store", GlobDatabaseFiles(tmp_path / "globs"))
    globs = [compile_glob(f"*.ext{i}") for i in range(pathscan.STORED_MIN)]
    paths = ["a/b.ext7", "c.ext99", "d.md"]

    def fresh() -> set[str] | None:  # what a new process sees: nothing compiled in memory yet
        monkeypatch.setattr(pathscan, "_cache", pathscan.OrderedDict())
        return matching_any(paths, globs)

    assert fresh() == {"a/b.ext7", "c.ext99"}
    (stored,) = (tmp_path / "globs").glob("*.hsdb")
    compiled = []
    real = pathscan._hs.Database
    monkeypatch.setattr(pathscan._hs, "Database", lambda **kw: compiled.append(1) or real(**kw))
    assert fresh() == {"a/b.ext7", "c.ext99"} and not compiled  # loaded, not compiled
    stored.write_bytes(stored.read_bytes()[:100])  # truncated by a full disk
    assert fresh() == {"a/b.ext7", "c.ext99"} and compiled == [1]


def test_the_glob_store_keeps_only_the_most_recent_sets(tmp_path: Path) -> None:
    store = GlobDatabaseFiles(tmp_path)
    for i in range(GlobDatabaseFiles.KEEP + 3):
        store.save(f"k{i}", b"x")
        os.utime(tmp_path / f"k{i}.hsdb", (i, i))
    store.save("last", b"y")
    assert len(list(tmp_path.glob("*.hsdb"))) == GlobDatabaseFiles.KEEP
    assert store.load("last") == b"y" and store.load("k0") is None and store.load("missing") is None
