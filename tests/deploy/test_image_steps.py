"""The image's build and run steps, exercised without a container engine.

deploy/Dockerfile builds a wheel, installs the hashed lock and then that wheel (no deps, not
editable) into a virtualenv without pip, and runs `readiness serve`. These tests do the same in
a temporary directory, then start the installed command on a temporary SQLite database, wait
for /healthz, post a correctly signed GitHub `ping`, and stop it with SIGTERM. What they cannot
check (the base image, the numeric user, the HEALTHCHECK under Docker) test_dockerfile.py checks
statically.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = "deploy-test-secret-0123456789"
NOT_IN_THE_IMAGE = shutil.ignore_patterns(
    ".git", ".venv*", "tests", "bench", "__pycache__", "*.egg-info", "build", "dist", "*.db*"
)


def run(*args: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen[str], deadline_seconds: float = 60) -> None:
    """Poll /healthz like an orchestrator does, failing at once if the process exits."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"readiness serve exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet; each refused connect returns at once
        time.sleep(0.05)  # polling interval, not synchronisation
    pytest.fail(f"{url}/healthz did not answer 200 within {deadline_seconds}s")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv holding the lock and the built wheel, as the image's build stage makes it."""
    work = tmp_path_factory.mktemp("image")
    src = work / "src"
    shutil.copytree(REPO, src, ignore=NOT_IN_THE_IMAGE)
    venv = work / "opt-readiness"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "-q", "--disable-pip-version-check", "--python", python)
    run(*pip, "install", "--require-hashes", "-r", src / "requirements.lock")
    run(*pip, "wheel", "--no-deps", "-w", work / "dist", src)
    wheels = list((work / "dist").glob("readiness_bot-*.whl"))
    assert len(wheels) == 1, wheels
    run(*pip, "install", "--no-deps", wheels[0])
    return venv


@pytest.mark.slow
def test_the_installed_wheel_is_not_the_checkout(installed: Path) -> None:
    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import bot; print(bot.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed), where
    assert not (installed / "bin" / "pip").exists()  # no build tools where it runs


@pytest.mark.slow
def test_installed_bot_answers_a_signed_webhook_and_stops_cleanly(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("READINESS_")} | {
        "PATH": f"{installed / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "READINESS_DATABASE_URL": f"sqlite:///{tmp_path / 'readiness.db'}",
        "READINESS_GITHUB_WEBHOOK_SECRET": SECRET,
        "READINESS_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [installed / "bin" / "readiness", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,  # not the checkout: only the installed package is importable
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc)
        assert httpx.get(f"{url}/readyz", timeout=10).json() == {"status": "ready"}
        body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "x-github-event": "ping",
            "x-github-delivery": str(uuid.uuid4()),
            "x-hub-signature-256": signature,
        }
        answer = httpx.post(f"{url}/webhooks/github", content=body, headers=headers, timeout=10)
        assert 200 <= answer.status_code < 300, answer.text
        forged = httpx.post(
            f"{url}/webhooks/github",
            content=body,
            headers=headers | {"x-hub-signature-256": "sha256=" + "0" * 64},
            timeout=10,
        )
        assert forged.status_code == 401
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
