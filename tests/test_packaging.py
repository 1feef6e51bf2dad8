"""The built wheel works wherever pip puts it: a fresh virtualenv and a `pip install --target` dir.

The shipped checklists and migrations are package data found with importlib.resources, so an
install that is not the checkout (nor `sys.prefix`) still lists five templates, checks a repository
and migrates a database. The wheel is built from the working tree's files copied elsewhere, so
nothing is found by accident next to the checkout. The fresh environments borrow this suite's
installed dependencies through a `.pth` line (appended after their own site-packages, so the
wheel's files win), which keeps the test offline and fast; the package itself is installed by pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from bot import __version__

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {
    "architecture-docs",
    "backend-blueprint",
    "backend-build",
    "production-readiness",
    "python-backend",
}
pytestmark = pytest.mark.slow


def _sh(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    listed = _sh("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    for rel in filter(None, listed.stdout.split("\0")):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    out = tmp_path_factory.mktemp("dist")
    built = _sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, src)
    assert built.returncode == 0, built.stderr
    [whl] = out.glob("readiness_bot-*.whl")
    return whl


def _fresh_python(root: Path) -> Path:
    """A new virtualenv (no pip, no packages) that can import this suite's dependencies."""
    made = _sh(sys.executable, "-m", "venv", "--without-pip", root)
    assert made.returncode == 0, made.stderr
    python = root / "bin" / "python"
    site = _sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    (Path(site) / "_suite_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READINESS_", "PYTHON"))}
    return {**env, "NO_COLOR": "1", **extra}


def _small_repo(root: Path) -> Path:
    root.mkdir()
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / ".readiness.yml").write_text("extends: false\nchecklists: [production-readiness]\n")
    return root


def _exercise(run, tmp_path: Path) -> None:
    """What a user does first: list the templates, check a repository, migrate a database."""
    listed = run("templates")
    assert listed.returncode == 0, listed.stderr
    assert {line.split()[0] for line in listed.stdout.splitlines()[1:]} == SHIPPED

    checked = run("check", _small_repo(tmp_path / "repo"), "--format", "json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert [c["id"] for c in report["checklists"]] == ["production-readiness"]
    assert report["files"] == 2 and report["summary"]["total"] > 0

    db = tmp_path / "bot.db"
    migrated = run("migrate", env={"READINESS_DATABASE_URL": f"sqlite:///{db}"})
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated (empty) ->" in migrated.stdout and db.is_file()

    assert run("--version").stdout.strip() == f"readiness {__version__}"


def test_the_wheel_carries_the_license_data_and_metadata(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    dist = f"readiness_bot-{__version__}.dist-info"
    assert f"{dist}/licenses/LICENSE" in names
    assert {f"bot/checklists/{i}.yaml" for i in SHIPPED} <= names
    assert {"bot/migrations/env.py", "bot/migrations/script.py.mako"} <= names
    assert any(n.startswith("bot/migrations/versions/0001_") for n in names)
    assert not any(n.startswith(("checklists/", "migrations/", "share/")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(f"{dist}/METADATA").decode()
    assert f"Version: {__version__}" in metadata
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL: Source, https://" in metadata


def test_the_wheel_in_a_fresh_virtualenv(wheel: Path, tmp_path: Path) -> None:
    python = _fresh_python(tmp_path / "venv")
    installed = _sh(sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel)
    assert installed.returncode == 0, installed.stderr
    readiness = tmp_path / "venv" / "bin" / "readiness"

    def run(*args: str | Path, env: dict[str, str] | None = None):
        return _sh(readiness, *args, env=_env(**(env or {})), cwd=tmp_path)

    _exercise(run, tmp_path)


def test_the_wheel_in_a_target_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    installed = _sh(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel)
    assert installed.returncode == 0, installed.stderr
    python = _fresh_python(tmp_path / "venv")
    where = _sh(
        python,
        "-c",
        "import bot.resources as r; print(r.data_dir('checklists'))",
        env=_env(PYTHONPATH=str(target)),
        cwd=tmp_path,  # not the checkout: `python -c` imports from the working directory first
    )
    assert where.stdout.strip() == str(target / "bot" / "checklists"), where.stderr

    def run(*args: str | Path, env: dict[str, str] | None = None):
        code = "import sys; from bot.cli import main; sys.argv[0] = 'readiness'; main()"
        return _sh(python, "-c", code, *args, env=_env(PYTHONPATH=str(target), **(env or {})), cwd=tmp_path)

    _exercise(run, tmp_path)


def test_every_package_under_bot_is_listed_for_the_wheel() -> None:
    """pyproject lists packages explicitly (two are mapped from top-level directories): a new
    sub-package must be added there or the wheel would silently lack it."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "bot").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
