"""The lock files are what CI, the README and the image install: they must cover pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def pins(name: str) -> dict[str, Version]:
    text = (ROOT / name).read_text()
    return {canonicalize_name(m[1]): Version(m[2]) for m in PIN.finditer(text)}


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    if extra:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None), ("requirements-dev.lock", "dev")])
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, extra: str | None) -> None:
    locked = pins(lock)
    for req in declared(extra):
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is declared in pyproject.toml but not pinned in {lock}"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {req.name}=={locked[name]}, outside pyproject.toml's {req.specifier}"
        )


def test_every_pin_carries_a_hash() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        blocks = re.split(r"\n(?=\S)", (ROOT / lock).read_text().strip())
        for block in blocks:
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"
