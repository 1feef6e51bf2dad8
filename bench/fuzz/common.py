"""Shared plumbing for the atheris harnesses: seed corpora from the repository, one `main`.

atheris is not a project dependency (it is a build of libFuzzer for CPython, needed only here):
install it into your own virtualenv with `.venv/bin/pip install atheris`. Then run a harness as
`.venv/bin/python bench/fuzz/NAME.py -max_total_time=60` (any libFuzzer flag works). Without a
corpus directory argument, a temporary one is seeded from the repository's own files (shipped
templates, example configurations from docs/, webhook fixtures), so mutations start from real
inputs. A crash writes `crash-<sha1>` in the current directory: turn it into a regression test.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def seed_corpus(samples: Iterable[bytes]) -> str:
    directory = Path(tempfile.mkdtemp(prefix="readiness-fuzz-"))
    for i, data in enumerate(samples):
        (directory / f"seed-{i:04d}").write_bytes(data)
    return str(directory)


def run(test_one_input: Callable[[bytes], None], samples: Callable[[], Iterable[bytes]]) -> None:
    import atheris

    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):  # no corpus directory given
        argv.append(seed_corpus(samples()))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
