"""Two versions of crm_bridge side by side for `make bench --only security`: the checkout and a git worktree
of an older commit, each migrated, given its accounts and started by its own code (a command run in its
own tree), over its own SQLite database and its own fake Rasa, on free loopback ports."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from kefu.stack import free_port
from kefu_core.paths import ROOT
from tests.fakes.rasa_server import FakeRasa

PYTHON = str(Path(sys.executable))
# Long and uncommon enough for the current password rule (12+ characters, not a common password).
PASSWORD = "bench-Passw0rd-" + "x7Kq9mZt"
# Settings that would make the two versions differ for reasons other than their code: none of them.
DROPPED_ENV = ("REDIS_URL", "KEFU_ENV", "KEFU_REQUIRE_MFA", "DATABASE_URL")


@dataclass
class Worktree:
    """A detached `git worktree` of `commit` in a temporary folder; remove() takes it away again."""

    commit: str
    path: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kefu-bench-tree-")) / "tree")
    sha: str = ""

    def add(self) -> Path:
        """Check the commit out into the folder."""
        self.sha = subprocess.run(
            ["git", "rev-parse", "--short", self.commit], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(self.path), self.commit],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return self.path

    def remove(self) -> None:
        """Remove the worktree and its folder (also when it was never fully added)."""
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(self.path)], cwd=ROOT, capture_output=True
        )
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)
        shutil.rmtree(self.path.parent, ignore_errors=True)


@dataclass
class Version:
    """One crm_bridge: its source tree, its database, its fake Rasa and its server process."""

    name: str
    tree: Path
    var: Path
    accounts: list[str]
    rasa: FakeRasa = field(default_factory=FakeRasa)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _rasa_started: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        """The SQLite file."""
        return self.var / "kefu.db"

    def env(self) -> dict[str, str]:
        """The environment every command of this version runs with (the same keys for both versions)."""
        base = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        closed = f"http://127.0.0.1:{free_port()}"
        return {
            **base,
            "PYTHONPATH": str(self.tree),
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "KEFU_VAR_DIR": str(self.var),
            "KEFU_SECRET_KEY": _SECRETS["secret"],
            "KEFU_SERVICE_TOKEN": _SECRETS["service"],
            "RASA_TOKEN": _SECRETS["rasa"],
            "ACTION_SERVER_TOKEN": _SECRETS["actions"],
            "RASA_URL": self.rasa.url,
            "ACTION_SERVER_URL": closed,
            "KEFU_API_URL": self.url,
            "RASA_TRACKER_DIALECT": "sqlite",
            "RASA_TRACKER_DB": str(self.var / "rasa_tracker.db"),
        }

    def _run(self, args: list[str], stdin: str | None = None) -> str:
        done = subprocess.run(
            [PYTHON, *args], cwd=self.tree, env=self.env(), input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        """A fresh database migrated by this version's code, with its accounts created by its own CLI."""
        shutil.rmtree(self.var, ignore_errors=True)
        self.var.mkdir(parents=True)
        self._run(["-m", "kefu.cli", "db", "upgrade"])
        for username in self.accounts:
            self._run(
                ["-m", "kefu.cli", "users", "create", "--role", "admin", "--username", username,
                 "--password-stdin"],
                stdin=PASSWORD + "\n",
            )  # fmt: skip

    def start(self, timeout_s: float = 180.0) -> None:
        """Start uvicorn with the command line this version's own kefu.stack builds; wait for /livez."""
        script = (
            f"import json; from kefu.stack import crm_bridge_command as c; print(json.dumps(c({self.port})))"
        )
        cmd = json.loads(self._run(["-c", script]).strip().splitlines()[-1])
        self.rasa.start()
        self._rasa_started = True
        self._log = (self.var / "crm_bridge.log").open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=self.tree, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not _ready(f"{self.url}/livez"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")
            time.sleep(0.3)

    def source(self) -> str:
        """Which code the server runs: 'security' when it has the session routes (401), else 'older'."""
        status = httpx.get(f"{self.url}/api/v1/auth/sessions", timeout=10).status_code
        return "security" if status == 401 else "older"

    def pause(self) -> None:
        """SIGSTOP the server while the other version is measured, so its idle work costs nothing."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after 15 s) and the fake Rasa."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self._log:
            self._log.close()
        if self._rasa_started:  # shutdown() of a server never started would wait forever
            self.rasa.stop()

    def tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        try:
            text = (self.var / "crm_bridge.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def turn_times_ms(self, after_id: int) -> tuple[list[float], int]:
        """Queued turns after `after_id`: milliseconds from stored to finished (the worker's side of a
        turn, queue wait included), and the last turn id. Empty for a version without a turns queue."""
        with sqlite3.connect(self.db_path) as db:
            try:
                rows = db.execute(
                    "SELECT id, created_at, finished_at FROM turns WHERE id > ? AND finished_at IS NOT NULL",
                    (after_id,),
                ).fetchall()
            except sqlite3.OperationalError:
                return [], after_id
        times = [(_at(done) - _at(made)).total_seconds() * 1000 for _, made, done in rows]
        return times, max((r[0] for r in rows), default=after_id)


_SECRETS = {k: secrets.token_urlsafe(32) for k in ("secret", "service", "rasa", "actions")}


def _at(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
