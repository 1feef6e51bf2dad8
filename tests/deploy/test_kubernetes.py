"""deploy/kubernetes: every overlay renders offline with `kubectl kustomize`, every object is valid
for a current Kubernetes (kubernetes-validate, strict), and the operational rules hold."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (KUBERNETES / "overlays").iterdir() if p.is_dir())
K8S_VERSION = kubernetes_validate.latest_version()  # the newest the installed package knows
CRDS = {"monitoring.coreos.com/v1"}  # not in the core schemas: checked structurally below


def kubectl() -> str:
    """kubectl ships on the project's machines (the image installs it); CI must not skip."""
    found = shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not on PATH: the Kubernetes manifests cannot be rendered")
        pytest.skip("kubectl is not installed")
    return found


def render(overlay: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    ]


def test_every_object_is_valid_for_a_current_kubernetes(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for obj in objects:
        if obj["apiVersion"] in CRDS:
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)  # raises with the path on error


def test_the_optional_service_monitor_is_well_formed() -> None:
    objects = render("postgres-monitored")
    (monitor,) = of_kind(objects, "ServiceMonitor")
    ports = {p["name"] for s in of_kind(objects, "Service") for p in s["spec"]["ports"]}
    labels = monitor["spec"]["selector"]["matchLabels"]
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
    assert all(e["path"] == "/metrics" for e in monitor["spec"]["endpoints"])
    assert any(labels.items() <= s["metadata"]["labels"].items() for s in of_kind(objects, "Service"))
    assert not any(o["kind"] == "ServiceMonitor" for o in render("postgres"))  # optional indeed


def test_pods_run_restricted(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for name, spec in pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["runAsUser"] == 10001 and sc["runAsNonRoot"] is True, name
            assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c["volumeMounts"]), name
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), name
            assert {"cpu", "memory"} <= c["resources"]["limits"].keys(), name


def test_secrets_are_referenced_never_inlined(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    assert not of_kind(objects, "Secret")  # created by the operator, never shipped
    for name, spec in pod_specs(objects):
        for c in spec["containers"]:
            for var in c.get("env", []):
                if any(word in var["name"] for word in ("SECRET", "PRIVATE_KEY", "TOKEN", "PASSWORD")):
                    assert var["name"].endswith("_FILE"), (name, var)
                if var["name"] == "READINESS_DATABASE_URL" and "value" in var:
                    assert var["value"].startswith("sqlite:"), name  # credentials only by reference
            files = [v["value"] for v in c.get("env", []) if v["name"].endswith("_FILE")]
            mounts = [m["mountPath"] for m in c["volumeMounts"]]
            assert all(any(f.startswith(m + "/") for m in mounts) for f in files), name


def test_every_long_running_container_has_real_probes(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    for deployment in of_kind(objects, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["readinessProbe"]["httpGet"]["port"] in ports
        if container["args"][0] == "worker":  # the worker serves its probes on --metrics-port
            port = int(container["args"][container["args"].index("--metrics-port") + 1])
            assert ports[container["livenessProbe"]["httpGet"]["port"]] == port


def test_postgres_runs_replicas_and_migrates_in_a_job_not_in_the_pods() -> None:
    objects = render("postgres")
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    assert deployments["readiness-web"]["spec"]["replicas"] >= 2
    assert deployments["readiness-worker"]["spec"]["replicas"] >= 2
    assert deployments["readiness-web"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (job,) = of_kind(objects, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    for d in deployments.values():  # replicas refuse an old schema instead of racing to migrate
        assert "migrate" not in d["spec"]["template"]["spec"]["containers"][0]["args"]
    budgets = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in of_kind(objects, "PodDisruptionBudget")
    }
    assert budgets == {"web", "worker"}


def test_sqlite_single_is_one_pod_with_its_database_on_a_volume() -> None:
    objects = render("sqlite-single")
    (deployment,) = of_kind(objects, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"  # one SQLite writer
    container = spec["template"]["spec"]["containers"][0]
    assert "--no-worker" not in container["args"]
    claims = {v["name"] for v in spec["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v}
    assert any(m["mountPath"] == "/data" and m["name"] in claims for m in container["volumeMounts"])
    assert of_kind(objects, "PersistentVolumeClaim")


def test_the_ingress_exposes_only_the_webhooks(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = rendered
    (ingress,) = of_kind(objects, "Ingress")
    services = {s["metadata"]["name"] for s in of_kind(objects, "Service")}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["path"] == "/webhooks/"
            assert path["backend"]["service"]["name"] in services


def test_the_validator_would_catch_a_misspelt_field() -> None:
    """Guards the test above: strict validation rejects what the API server would drop or refuse."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"portz": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
