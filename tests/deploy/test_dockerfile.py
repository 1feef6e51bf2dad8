"""deploy/Dockerfile and deploy/compose.yaml, read statically: the rules a container engine would
only show by building (there is none on the test machines; test_image_steps.py runs the steps)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in joined]


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(DEPLOY / "Dockerfile"):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def runs(stage: list[tuple[str, str]]) -> list[str]:
    return [args for name, args in stage if name == "RUN"]


def test_the_image_is_multi_stage_and_runs_only_what_the_build_stage_made() -> None:
    build, final = stages()[0], stages()[-1]
    assert len(stages()) >= 2
    alias = build[0][1].split()[-1]
    assert any(name == "COPY" and f"--from={alias}" in args for name, args in final)
    for command in runs(final):  # nothing is installed or compiled in the final stage
        assert not re.search(r"pip(3)? install|apt-get install|apk add|gcc|make\b", command), command


def test_dependencies_come_from_the_hashed_lock_and_the_package_from_a_wheel() -> None:
    commands = [c for stage in stages() for c in runs(stage)]
    installs = [c for c in commands if "pip" in c and " install" in c]
    assert any("--require-hashes" in c and "-r requirements.lock" in c for c in installs)
    assert any("pip wheel --no-deps" in c for c in commands)
    assert any(re.search(r"install --no-deps \S*\.whl", c) for c in installs)
    for command in installs:
        words = shlex.split(command)
        assert "-e" not in words and "--editable" not in words, command


def test_the_user_is_numeric_so_kubernetes_can_verify_run_as_non_root() -> None:
    users = [args for name, args in stages()[-1] if name == "USER"]
    assert users and users[-1] == "10001:10001"


def test_a_healthcheck_probes_healthz_on_the_served_port() -> None:
    final = dict((name, args) for name, args in stages()[-1])
    assert "/healthz" in final["HEALTHCHECK"] and "--timeout=" in final["HEALTHCHECK"]
    port = re.search(r"--port\", \"(\d+)\"", final["CMD"])
    assert port and f"127.0.0.1:{port.group(1)}/healthz" in final["HEALTHCHECK"]
    assert final["EXPOSE"] == port.group(1)


def test_the_license_is_in_the_image() -> None:
    assert any(name == "COPY" and args.split()[0] == "LICENSE" for name, args in stages()[-1])


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for entry in (".git", ".venv", "deploy/secrets", "readiness.db*"):
        assert entry in ignored


def test_compose_states_the_version_its_keys_need() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    uses_required = any(
        isinstance(entry, dict) and "required" in entry
        for service in compose["services"].values()
        for entry in (service.get("env_file") or [])
    ) or any(
        isinstance(entry, dict) and "required" in entry for entry in compose["x-bot"].get("env_file", [])
    )
    if uses_required:  # env_file.required arrived in Docker Compose 2.24.0
        assert re.search(r"Compose (v)?2\.24", text)
    else:
        pytest.skip("compose.yaml uses no key newer than Compose 2.0")


def test_compose_probes_each_role_on_its_own_health_endpoint() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    worker = compose["services"]["worker"]
    assert "--metrics-port" in worker["command"]
    port = worker["command"][worker["command"].index("--metrics-port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(worker["healthcheck"]["test"])
    assert "/readyz" in " ".join(compose["services"]["receiver"]["healthcheck"]["test"])
