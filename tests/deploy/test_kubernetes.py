"""The Kubernetes manifests (deploy/k8s): the kustomize base and the production overlay render with
`kubectl kustomize` (kubectl v1.32 / kustomize v5.5) and every object validates against the Kubernetes
1.32 OpenAPI schemas bundled in kubernetes-validate (strict: unknown fields are errors, offline)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kefu_core.paths import ROOT

K8S = ROOT / "deploy/k8s"
K8S_VERSION = "1.32.0"  # the kubectl installed here; kubernetes-validate bundles its schemas
PROCESSES = ("kefu-api", "kefu-workers", "kefu-rasa", "kefu-actions")
KINDS = {
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
}
SHUTDOWN_TIMEOUT_S = 20


def _render(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed: it renders the kustomizations (Debian package kubectl)")
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return _render(K8S / "base")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    # As an operator would: a copy with secrets.env made from the example (the real one is never committed).
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree)
    overlay = tree / "overlays/production"
    (overlay / "secrets.env").write_text((overlay / "secrets.env.example").read_text())
    return _render(overlay)


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    assert len(found) == 1, (kind, name, [d["metadata"]["name"] for d in docs if d["kind"] == kind])
    return found[0]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_object_validates(which: str, request: pytest.FixtureRequest) -> None:
    docs: list[dict[str, Any]] = request.getfixturevalue(which)
    assert {d["kind"] for d in docs} >= KINDS
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:  # name the object, not only the schema path
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")


def test_a_broken_manifest_is_caught() -> None:
    # The validator is really checking (a misspelt probe field fails strict validation).
    bad = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "x", "image": "x", "readinessProbe": {"httpGett": {"path": "/"}}}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_production_overlay(production: list[dict[str, Any]]) -> None:
    kinds = {d["kind"] for d in production}
    assert {"Namespace", "Ingress", "NetworkPolicy"} <= kinds
    assert all(d["metadata"].get("namespace") == "kefu" for d in production if d["kind"] != "Namespace")
    api = _one(production, "Deployment", "kefu-api")
    assert api["spec"]["replicas"] == 3
    assert _containers(api)[0]["image"] == "registry.example.com/kefu/app:0.1.0"
    ingress = _one(production, "Ingress", "kefu")
    assert ingress["spec"]["tls"][0]["secretName"] == "kefu-tls"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "kefu-api"


def test_probes_point_at_the_right_paths(production: list[dict[str, Any]]) -> None:
    api = _containers(_one(production, "Deployment", "kefu-api"))[0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert api["startupProbe"]["httpGet"]["path"] == "/livez"
    actions = _containers(_one(production, "Deployment", "kefu-actions"))[0]
    assert actions["readinessProbe"]["httpGet"]["path"] == "/health"
    rasa = _containers(_one(production, "Deployment", "kefu-rasa"))[0]
    assert rasa["readinessProbe"]["httpGet"]["path"] == "/"
    for name in ("kefu-api", "kefu-rasa", "kefu-actions"):
        container = _containers(_one(production, "Deployment", name))[0]
        assert {"readinessProbe", "livenessProbe"} <= set(container), name


def test_internal_services_are_not_exposed(production: list[dict[str, Any]]) -> None:
    services = [d for d in production if d["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} == {"kefu-api", "kefu-rasa", "kefu-actions"}
    for service in services:
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]
        assert not any("nodePort" in port for port in service["spec"]["ports"])
    # Only the api has an Ingress.
    ingress_backends = {
        p["backend"]["service"]["name"]
        for d in production
        if d["kind"] == "Ingress"
        for rule in d["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert ingress_backends == {"kefu-api"}


def test_scaling_and_disruption_budgets_match_the_deployments(production: list[dict[str, Any]]) -> None:
    for name in PROCESSES:
        deployment = _one(production, "Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        hpa = _one(production, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        pdb = _one(production, "PodDisruptionBudget", name)
        assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"], name
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        # The Service (if any) selects these pods.
        services = [d for d in production if d["kind"] == "Service" and d["metadata"]["name"] == name]
        for service in services:
            assert service["spec"]["selector"].items() <= labels.items()


def test_resources_secrets_and_config(production: list[dict[str, Any]]) -> None:
    config = _one(production, "ConfigMap", "kefu-config")
    secret = _one(production, "Secret", "kefu-secrets")
    assert config["data"]["KEFU_JOBS_BACKEND"] == "redis" and config["data"]["KEFU_JOBS_APP_WORKERS"] == "0"
    assert "DATABASE_URL" in secret["data"] and "DATABASE_URL" not in config["data"]
    workloads = [d for d in production if d["kind"] in ("Deployment", "Job")]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"} == set(resources["limits"])
            refs = {
                ref.get("configMapRef", ref.get("secretRef", {})).get("name")
                for ref in container.get("envFrom", [])
            }
            # kustomize rewrote the references to the generated (hashed) names.
            assert config["metadata"]["name"] in refs, workload["metadata"]["name"]
    # No real secret in the repository: only the examples, with placeholders.
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/k8s"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    assert not any(path.endswith("/secrets.env") for path in tracked)
    for example in ("base/secrets.example.env", "overlays/production/secrets.env.example"):
        values = [
            line.split("=", 1)[1]
            for line in (K8S / example).read_text().splitlines()
            if line and not line.startswith("#")
        ]
        assert all("REPLACE_ME" in v or v.startswith("redis://redis") for v in values), example


def test_migration_job_and_graceful_stops(production: list[dict[str, Any]]) -> None:
    job = _one(production, "Job", "kefu-migrate")
    assert _containers(job)[0]["command"] == ["kefu", "seed"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    config = _one(production, "ConfigMap", "kefu-config")
    assert float(config["data"]["KEFU_SHUTDOWN_TIMEOUT"]) == SHUTDOWN_TIMEOUT_S
    api = _one(production, "Deployment", "kefu-api")
    pre_stop = _containers(api)[0]["lifecycle"]["preStop"]["exec"]["command"]
    assert api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > SHUTDOWN_TIMEOUT_S + int(
        pre_stop[-1]
    )
    workers = _one(production, "Deployment", "kefu-workers")
    grace = workers["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    assert grace > SHUTDOWN_TIMEOUT_S  # SIGTERM lets running jobs finish within the shutdown timeout
