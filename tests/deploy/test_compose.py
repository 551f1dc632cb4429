"""docker-compose.yml validated without a Docker daemon by Debian's docker-compose (v1.29) `config`:
the file parses, interpolates and matches the Compose schema, and its topology is the documented one
(docs/deploy.md): replicas, healthchecks, the broker, one published port, a one-shot migration."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kefu_core.paths import ROOT

COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "placeholder-pg",
    "KEFU_SECRET_KEY": "placeholder-secret",
    "KEFU_SERVICE_TOKEN": "placeholder-service",
    "KEFU_ENCRYPTION_KEY": "placeholder-fernet",
    "KEFU_METRICS_TOKEN": "placeholder-metrics",
    "RASA_TOKEN": "placeholder-rasa",
    "ACTION_SERVER_TOKEN": "placeholder-actions",
}
REPLICATED = ("api", "workers", "rasa", "actions")
SERVICES = {"postgres", "redis", "migrate", "api", "workers", "actions", "rasa", "web"}
AFTER_MIGRATION = {"condition": "service_completed_successfully"}
IMAGE_FILES = ("docker/api.sh", "docker/nginx.conf", "docker/rasa-endpoints.yml", "docker/postgres-init.sql")


@cache
def _tool() -> str:
    found = shutil.which("docker-compose")
    if found is None:  # `make test` installs it; a bare pytest run tries once too
        subprocess.run([str(ROOT / "scripts/ensure_compose_tool.sh")], capture_output=True, timeout=600)
        found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed and scripts/ensure_compose_tool.sh could not install it")
    return found


def _config(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return subprocess.run(
        [_tool(), "--env-file", str(env_file), "-f", str(COMPOSE), "config", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no .env of the checkout is read
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("compose")
    quiet = _config(tmp, SECRETS, "-q")
    assert quiet.returncode == 0, quiet.stderr
    full = _config(tmp, SECRETS)
    assert full.returncode == 0, full.stderr
    return dict(yaml.safe_load(full.stdout))


def test_config_is_valid(rendered: dict[str, Any]) -> None:
    assert set(rendered["services"]) == {
        "postgres",
        "redis",
        "migrate",
        "api",
        "workers",
        "actions",
        "rasa",
        "web",
    }


def test_a_missing_secret_is_named(tmp_path: Path) -> None:
    result = _config(tmp_path, {k: v for k, v in SECRETS.items() if k != "RASA_TOKEN"}, "-q")
    assert result.returncode != 0
    assert "set RASA_TOKEN in .env" in result.stderr


def test_every_process_is_replicated(rendered: dict[str, Any]) -> None:
    for name in REPLICATED:
        assert rendered["services"][name]["deploy"]["replicas"] >= 2, name


def test_only_web_publishes_a_port(rendered: dict[str, Any]) -> None:
    published = {name for name, svc in rendered["services"].items() if svc.get("ports")}
    assert published == {"web"}
    assert [str(p["target"]) if isinstance(p, dict) else p for p in rendered["services"]["web"]["ports"]]


def test_migration_runs_once_before_the_app(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    assert services["migrate"]["command"] == ["kefu", "seed"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "workers", "actions"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, (
            name
        )


def test_health_checks_and_readiness(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/livez" in " ".join(services["web"]["healthcheck"]["test"])
    assert "/health" in " ".join(services["actions"]["healthcheck"]["test"])
    for name in ("postgres", "redis", "api", "actions", "rasa", "web"):
        assert services[name].get("healthcheck", {}).get("test"), name
    # The proxy starts only once an api replica is ready for traffic.
    assert services["web"]["depends_on"]["api"] == {"condition": "service_healthy"}


def test_the_broker_and_graceful_stops(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    api_env = services["api"]["environment"]
    assert api_env["KEFU_JOBS_BACKEND"] == "redis" and api_env["REDIS_URL"].startswith("redis://redis:")
    assert api_env["KEFU_JOBS_APP_WORKERS"] == "0"  # the `workers` service works the queue
    assert services["rasa"]["environment"]["RASA_LOCK_REDIS_HOST"] == "redis"
    # Docker waits longer than the drain before SIGKILL; SIGTERM (the default) is the workers' graceful stop.
    deadline = float(api_env["KEFU_SHUTDOWN_TIMEOUT"])
    for name in ("api", "workers"):
        assert _seconds(services[name]["stop_grace_period"]) > deadline, name
    assert services["workers"].get("stop_signal", "SIGTERM") == "SIGTERM"


def test_the_files_the_images_use_exist() -> None:
    for path in (
        "docker/api.sh",
        "docker/nginx.conf",
        "docker/rasa-endpoints.yml",
        "docker/postgres-init.sql",
    ):
        assert (ROOT / path).is_file(), path
    lock_store = yaml.safe_load((ROOT / "docker/rasa-endpoints.yml").read_text())["lock_store"]
    assert lock_store["type"] == "redis"
    assert "COPY docker/rasa-endpoints.yml" in (ROOT / "docker/rasa.Dockerfile").read_text()
    assert 'CMD ["/app/docker/api.sh"]' in (ROOT / "docker/app.Dockerfile").read_text()


def _seconds(value: str) -> float:
    units = {"s": 1, "m": 60}
    return float(value[:-1]) * units[value[-1]]
