"""Two of every kefu process on this machine (issue 24 item 2), for the cluster test: 2 crm_bridge workers
(no load balancer: the caller spreads requests), 2 `kefu jobs worker` processes on the Redis queue, 2 Rasa
replicas (SQL tracker store on PostgreSQL, Redis lock store), each with its own action server, and the
harness's own redis-server on a free port (restarted by the test; the shared Redis on 6379 is left alone).
Any of them can be SIGKILLed and started again on the same port."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from kefu.model import RASA_BIN, rasa_env
from kefu.stack import VENV_BIN, Service, crm_bridge_command, free_port
from kefu_core.paths import ROOT

REDIS_BIN = shutil.which("redis-server") or "/usr/bin/redis-server"


class Redis:
    """A private redis-server (no persistence: a restart loses every queued job, the hard case)."""

    def __init__(self, var: Path) -> None:
        self.port = free_port()
        self.var = var
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        log = (self.var / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.var)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("the harness's redis-server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGKILL it (the state goes with it: no persistence)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Cluster:
    """The processes, by name: api-1/2, worker-1/2, rasa-1/2, actions-1/2."""

    def __init__(
        self, *, var: Path, model: Path, database_url: str, tracker_url: str, env: dict[str, str]
    ) -> None:
        self.var = var
        (var / "logs").mkdir(parents=True, exist_ok=True)
        shared_models = ROOT / "var" / "models"  # the ONNX export and sentiment model, made once by `make`
        if shared_models.is_dir() and not (var / "models").exists():
            (var / "models").symlink_to(shared_models)  # else each of the 8 processes exports MiniLM again
        self.redis = Redis(var)
        self.api_ports = [free_port(), free_port()]
        self.rasa_ports = [free_port(), free_port()]
        self.action_ports = [free_port(), free_port()]
        self.rasa_token = secrets.token_urlsafe(24)
        tracker = httpx.URL(tracker_url)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KEFU_VAR_DIR": str(var),
            "KEFU_SERVICE_TOKEN": secrets.token_urlsafe(32),
            "RASA_TOKEN": self.rasa_token,
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
            "RASA_URL": self.rasa_urls[0],
            "RASA_URLS": ",".join(self.rasa_urls),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_ports[0]}",
            "REDIS_URL": self.redis.url,
            "KEFU_JOBS_BACKEND": "redis",
            "KEFU_JOBS_REDIS_URL": self.redis.url,
            "KEFU_JOBS_APP_WORKERS": "0",  # the two `kefu jobs worker` processes answer every turn
            "KEFU_WIDGET_SESSIONS_PER_MINUTE": "1000000",  # every simulated customer shares 127.0.0.1
            "RASA_TRACKER_DIALECT": "postgresql",
            "RASA_TRACKER_HOST": tracker.host,
            "RASA_TRACKER_DB": tracker.path.lstrip("/"),
            "RASA_TRACKER_USER": tracker.username or "postgres",
            "RASA_TRACKER_PASSWORD": tracker.password or "",
            "RASA_LOCK_STORE_TYPE": "redis",
            "RASA_LOCK_STORE_HOST": "127.0.0.1",
            "RASA_LOCK_STORE_PORT": str(self.redis.port),
            "RASA_LOCK_STORE_DB": "1",
            **env,
        }
        self.model = model
        self.services: dict[str, Service] = {}
        for i in (1, 2):
            self.services[f"actions-{i}"] = self._actions(i)
            self.services[f"rasa-{i}"] = self._rasa(i)
            self.services[f"api-{i}"] = self._service(
                f"api-{i}", crm_bridge_command(self.api_ports[i - 1]), f"{self.api_urls[i - 1]}/livez"
            )
            self.services[f"worker-{i}"] = self._service(
                f"worker-{i}", [str(VENV_BIN / "kefu"), "jobs", "worker", "--workers", "4"], ""
            )

    @property
    def api_urls(self) -> list[str]:
        """The two crm_bridge workers' base URLs."""
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    @property
    def rasa_urls(self) -> list[str]:
        """The two Rasa replicas' base URLs (RASA_URLS)."""
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    def _service(
        self, name: str, cmd: list[str], ready_url: str, env: dict[str, str] | None = None
    ) -> Service:
        return Service(name, cmd, {**self.env, **(env or {})}, ready_url, self.var / "logs" / f"{name}.log")

    def _actions(self, i: int) -> Service:
        port = self.action_ports[i - 1]
        cmd = [str(VENV_BIN / "python"), "-m", "actions.server", "--actions", "actions", "--port", str(port)]
        return self._service(
            f"actions-{i}", cmd, f"http://127.0.0.1:{port}/health", {"SANIC_HOST": "127.0.0.1"}
        )

    def _rasa(self, i: int) -> Service:
        # One action server per Rasa replica (a sidecar): Rasa's endpoints name one action URL.
        cmd = [
            str(RASA_BIN.parent / "python"), "-m", "bot.rasa_server", "run", "--enable-api",
            "--model", str(self.model),
            "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml",
            "--interface", "127.0.0.1", "--port", str(self.rasa_ports[i - 1]),
        ]  # fmt: skip
        env = {**rasa_env(), **self.env, "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_ports[i - 1]}"}
        service = Service(
            f"rasa-{i}", cmd, env, f"{self.rasa_urls[i - 1]}/status", self.var / "logs" / f"rasa-{i}.log"
        )
        service.ready_headers = {"Authorization": f"Bearer {self.rasa_token}"}
        return service

    def start(self, timeout: float = 400.0) -> None:
        """Redis, then every process; Rasa one replica after the other (both would create the tracker
        tables at once otherwise). Raises with the log's tail when one does not come up."""
        self.redis.start()
        order = ["actions-1", "actions-2", "api-1", "api-2", "worker-1", "worker-2", "rasa-1"]
        for name in order:
            self.services[name].start()
        self.wait(["rasa-1", "actions-1", "actions-2", "api-1", "api-2"], timeout)
        self.services["rasa-2"].start()
        self.wait(["rasa-2"], timeout)

    def wait(self, names: list[str], timeout: float) -> None:
        """Wait until each named service answers its ready URL (workers have none: alive is enough)."""
        deadline = time.monotonic() + timeout
        pending = [n for n in names if self.services[n].ready_url]
        while pending:
            for name in list(pending):
                service = self.services[name]
                assert service.proc is not None
                if service.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{service.tail()}")
                if service.ready():
                    pending.remove(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f} s: {pending}")
            time.sleep(0.5)

    def kill(self, name: str) -> None:
        """SIGKILL one process (its whole process group), as the kernel's OOM killer would."""
        proc = self.services[name].proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, name: str, timeout: float = 300.0) -> None:
        """Start a killed process again on its port and wait until it is ready."""
        self.services[name].start()
        self.wait([name], timeout)

    def restart_redis(self) -> None:
        """SIGKILL the harness's redis-server and start it again on its port, empty."""
        self.redis.stop()
        self.redis.start()

    def stop(self) -> None:
        """Stop every process and Redis."""
        for service in self.services.values():
            service.stop(timeout=10)
        self.redis.stop()
