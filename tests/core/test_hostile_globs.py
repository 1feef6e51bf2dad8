"""Hostile globs and file names (issue 12, finding 1): matching stays linear on both index routes.

Each case runs in a subprocess with a deadline, so a regression fails the test instead of hanging
the suite (Python's backtracking `re` took hours on these).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot.core import pathscan

PATHOLOGICAL = [
    "*a*a*a*a*a*a*c*b",
    "**/*a*a*a*a*a*a*c*b",
    "x/**/a*a*a*a*a*a*a*c/**/b*b*b*b*b*b*c",
    "**/a/**/a/**/a/**/a/**/c",
]
NAMES = [
    "a" * 200 + "b",
    "x/" + "a" * 200 + "b",
    "x/" + "a/" * 100 + "b",
    "x/" + "a" * 3000 + "/" + "b" * 3000,
]

SCRIPT = """
import sys
from bot.core import pathscan
from bot.core.globs import compile_glob, naive_files
from bot.core.pathindex import PathIndex, matching_any
pathscan.enabled = sys.argv[1] == "hyperscan"
pathscan.MIN_PATHS = 0
globs = [compile_glob(text) for text in {globs!r}]
paths = {names!r} + [f"pad/{{i}}.txt" for i in range(600)]
index = PathIndex(paths)
index.prime(globs)
for glob in globs:
    assert index.matching_files([glob]) == naive_files(paths, glob.text)
    index.best([glob])
if pathscan.enabled:
    matching_any(paths, globs)
print("ok")
"""


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_pathological_globs_match_in_linear_time(engine: str) -> None:
    if engine == "hyperscan" and not pathscan.available():
        pytest.skip("hyperscan is not installed on this platform")
    script = textwrap.dedent(SCRIPT).format(globs=PATHOLOGICAL, names=NAMES)
    done = subprocess.run(
        [sys.executable, "-c", script, engine], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
