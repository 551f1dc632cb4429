"""Start and stop the three processes (Rasa, action server, crm_bridge) with readiness checks.

`make run` uses it on the fixed ports; the end-to-end tests use it on free ports and a fresh database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from kefu.model import RASA_BIN, rasa_env
from kefu_core.paths import ROOT
from kefu_core.settings import TRUSTED_PROXIES_DEFAULT

VENV_BIN = Path(sys.executable).parent


# The largest WebSocket message crm_bridge reads (uvicorn closes the socket with 1009 past it); a chat frame
# is a few kilobytes at most, and uvicorn's own default is 16 MiB.
WS_MAX_BYTES = 65_536


def crm_bridge_command(port: int, trusted_proxies: str | None = None) -> list[str]:
    """The command line of one crm_bridge worker on 127.0.0.1:`port`; X-Forwarded-For is believed only from
    `trusted_proxies` (KEFU_TRUSTED_PROXIES: addresses or networks, comma-separated; empty: nobody)."""
    if trusted_proxies is None:
        trusted_proxies = os.environ.get("KEFU_TRUSTED_PROXIES", TRUSTED_PROXIES_DEFAULT)
    return [
        str(VENV_BIN / "uvicorn"), "crm_bridge.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        "--ws-max-size", str(WS_MAX_BYTES),
        "--proxy-headers", "--forwarded-allow-ips", trusted_proxies,
    ]  # fmt: skip


def fresh_metrics_dir(folder: Path) -> Path:
    """Empty (or make) the folder where kefu's processes keep their Prometheus values (multiprocess mode):
    values left by the processes of an earlier start would otherwise be summed into /metrics."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def free_port() -> int:
    """A port nothing listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """One child process and how to tell it is ready."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    ready_url: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    ready_headers: dict[str, str] = field(default_factory=dict, repr=False)  # e.g. Rasa's token

    def start(self) -> None:
        """Spawn the process in its own process group, output to its log file."""
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self) -> bool:
        """True once the ready URL answers 200."""
        try:
            return httpx.get(self.ready_url, headers=self.ready_headers, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL after `timeout`."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self._log:
            self._log.close()

    def tail(self, lines: int = 30) -> str:
        """Last lines of the log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_worker(var: Path, name: str, env: dict[str, str], timeout: float = 180.0) -> tuple[Service, str]:
    """One crm_bridge uvicorn worker on a free port, ready to serve; -> (service, base URL)."""
    port = free_port()
    closed = f"http://127.0.0.1:{free_port()}"
    service = Service(
        name,
        crm_bridge_command(port, {**os.environ, **env}.get("KEFU_TRUSTED_PROXIES")),
        {
            **os.environ,
            "RASA_URL": closed,
            "ACTION_SERVER_URL": closed,
            "KEFU_VAR_DIR": str(var),
            # Hundreds of simulated customers share one loopback address: lift the per-address limit.
            "KEFU_WIDGET_SESSIONS_PER_MINUTE": "1000000",
            **env,
        },
        f"http://127.0.0.1:{port}/livez",
        var / f"{name}.log",
    )
    service.start()
    deadline = time.monotonic() + timeout
    while not service.ready():
        if (service.proc is not None and service.proc.poll() is not None) or time.monotonic() > deadline:
            service.stop()
            raise RuntimeError(f"{name} did not start:\n{service.tail()}")
        time.sleep(0.3)
    return service, f"http://127.0.0.1:{port}"


@dataclass
class Ports:
    """Where each process listens."""

    rasa: int = 5005
    actions: int = 5055
    api: int = 8000

    @classmethod
    def free(cls) -> Ports:
        """Three free ports."""
        return cls(free_port(), free_port(), free_port())


class Stack:
    """The running assistant: Rasa, the action server and crm_bridge."""

    def __init__(self, *, model: Path, ports: Ports, var: Path, env: dict[str, str] | None = None) -> None:
        self.ports = ports
        self.var = var
        log_dir = var / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        base = {**os.environ, **(env or {})}
        base["KEFU_VAR_DIR"] = str(var)
        # Every crm_bridge and job worker process writes its metrics here; /metrics sums them.
        base["PROMETHEUS_MULTIPROC_DIR"] = base.get("PROMETHEUS_MULTIPROC_DIR") or str(var / "prometheus")
        self.metrics_dir = Path(base["PROMETHEUS_MULTIPROC_DIR"])
        shared = {
            **base,
            "RASA_URL": self.rasa_url,
            "ACTION_SERVER_URL": self.actions_url,
            "KEFU_API_URL": self.api_url,
            # Only kefu's own processes hold it; a fresh one per start unless the deployment sets one.
            "KEFU_SERVICE_TOKEN": base.get("KEFU_SERVICE_TOKEN") or secrets.token_urlsafe(32),
            # Rasa and the action server refuse calls without theirs (bot/rasa_server.py, actions/server.py).
            "RASA_TOKEN": base.get("RASA_TOKEN") or secrets.token_urlsafe(32),
            "ACTION_SERVER_TOKEN": base.get("ACTION_SERVER_TOKEN") or secrets.token_urlsafe(32),
        }
        self.rasa_token = shared["RASA_TOKEN"]
        tracker = {
            "RASA_TRACKER_DIALECT": base.get("RASA_TRACKER_DIALECT", "sqlite"),
            "RASA_TRACKER_HOST": base.get("RASA_TRACKER_HOST", ""),
            "RASA_TRACKER_DB": base.get("RASA_TRACKER_DB", str(var / "rasa_tracker.db")),
            "RASA_TRACKER_USER": base.get("RASA_TRACKER_USER", ""),
            "RASA_TRACKER_PASSWORD": base.get("RASA_TRACKER_PASSWORD", ""),
        }
        # bot.rasa_server is Rasa's command line with a validator for action replies built once.
        rasa_cmd = [
            str(RASA_BIN.parent / "python"), "-m", "bot.rasa_server", "run", "--enable-api",
            "--model", str(model),
            "--endpoints", "bot/endpoints.yml",
            "--credentials", "bot/credentials.yml",
            "--interface", "127.0.0.1", "--port", str(ports.rasa),
        ]  # fmt: skip
        self.services = [
            Service(
                "actions",
                [
                    str(VENV_BIN / "python"),
                    "-m",
                    "actions.server",
                    "--actions",
                    "actions",
                    "--port",
                    str(ports.actions),
                ],
                {**shared, "SANIC_HOST": "127.0.0.1"},
                f"{self.actions_url}/health",
                log_dir / "actions.log",
            ),
            Service(
                "crm_bridge",
                crm_bridge_command(ports.api, base.get("KEFU_TRUSTED_PROXIES")),
                # The tracker store too: erasing a contact deletes its tracker events (crm_bridge/erasure).
                {**shared, **tracker},
                # Ready once it serves: the knowledge-base index is built before uvicorn listens.
                f"{self.api_url}/livez",
                log_dir / "crm_bridge.log",
            ),
            Service(
                "rasa",
                rasa_cmd,
                {**rasa_env(), **shared, **tracker},
                f"{self.rasa_url}/status",
                log_dir / "rasa.log",
                ready_headers={"Authorization": f"Bearer {self.rasa_token}"},
            ),
        ]

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL."""
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def actions_url(self) -> str:
        """The action server's base URL."""
        return f"http://127.0.0.1:{self.ports.actions}"

    @property
    def api_url(self) -> str:
        """crm_bridge's base URL."""
        return f"http://127.0.0.1:{self.ports.api}"

    def start(self, timeout: float = 180.0, progress: bool = False) -> None:
        """Start all three and wait until each is ready; on failure stop everything and raise."""
        fresh_metrics_dir(self.metrics_dir)
        for service in self.services:
            service.start()
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        try:
            while pending:
                for service in list(pending):
                    assert service.proc is not None
                    if service.proc.poll() is not None:
                        raise RuntimeError(
                            f"{service.name} exited with {service.proc.returncode}; "
                            f"log {service.log_path}:\n{service.tail()}"
                        )
                    if service.ready():
                        pending.remove(service)
                        if progress:
                            print(f"   {service.name} ready", flush=True)
                if time.monotonic() > deadline:
                    names = ", ".join(s.name for s in pending)
                    raise RuntimeError(
                        f"not ready after {timeout:.0f} s: {names}; logs in {self.var / 'logs'}"
                    )
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop all three (reverse order)."""
        for service in reversed(self.services):
            service.stop()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
