"""One version's real stack for `make bench --only scale`: Rasa, the action server and crm_bridge started by
that version's own code (a driver run in its own tree), and the CPU time of each process's group read from
/proc, so capacity can be planned per core."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from kefu_core.paths import ROOT

KINDS = ("crm_bridge", "rasa", "actions")
TICKS = os.sysconf("SC_CLK_TCK")

# Run with cwd = the tree and PYTHONPATH = the tree: every import below is that version's code. The ONNX
# exports and the trained sentiment model are shared (a symlink), so no version spends its start-up
# exporting or training; the knowledge-base index is built by each version itself.
DRIVER = """
import json, sys
from pathlib import Path
from kefu.benchlib import fresh_stack
out, name, model, shared = sys.argv[1:5]
stack = fresh_stack(Path(out), name, Path(model), env={
    "KEFU_CUSTOMER_MESSAGES_PER_MINUTE": "100000", "KEFU_WIDGET_SESSIONS_PER_MINUTE": "100000"})
(stack.var / "models").symlink_to(shared)
stack.start(timeout=900)
print("KEFU " + json.dumps({"api": stack.api_url, "pids": {s.name: s.proc.pid for s in stack.services}}),
      flush=True)
sys.stdin.read()
stack.stop()
"""


def group_cpu_seconds(leader: int) -> float:
    """User + system CPU seconds of every live process in `leader`'s process group (the services start
    in their own session, so the group is the service with all its children and threads), plus the
    children it has already reaped."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = raw.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
        # fields[0] is field 3 (state): pgrp is field 5, utime..cstime are fields 14..17.
        if int(fields[2]) != leader:
            continue
        total += int(fields[11]) + int(fields[12])
        if int(entry) == leader:
            total += int(fields[13]) + int(fields[14])
    return total / TICKS


@dataclass
class ScaleStack:
    """A running stack of one version; `cpu()` per process kind, `pause()`/`resume()` between blocks."""

    name: str
    tree: Path
    out: Path
    model: Path = Path()
    proc: subprocess.Popen[str] | None = None
    api: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    _log: IO[str] | None = field(default=None, repr=False)

    def ensure_model(self) -> None:
        """The Rasa model this version's own code wants (`kefu.model.ensure_model` run in its tree): the
        checkout's trained models are offered to it first, so an unchanged bot is not trained again."""
        models = self.tree / "models"
        if self.tree != ROOT:
            for venv in (".venv", ".venv-rasa"):  # the same environments: only the code differs
                if not (self.tree / venv).exists():
                    (self.tree / venv).symlink_to(ROOT / venv)
            models.mkdir(exist_ok=True)
            for path in (ROOT / "models").glob("kefu-*.tar.gz"):
                if not (models / path.name).exists():
                    os.link(path, models / path.name)
        env = {**os.environ, "PYTHONPATH": str(self.tree)}
        done = subprocess.run(
            [sys.executable, "-m", "kefu.model"], cwd=self.tree, env=env, check=True, capture_output=True,
            text=True,
        )  # fmt: skip
        self.model = Path(done.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        """Start the driver in the version's tree and wait until all three services are ready."""
        self.ensure_model()
        shared = ROOT / "var" / "models"
        shared.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(self.tree)}
        self.out.mkdir(parents=True, exist_ok=True)
        self._log = (self.out / f"scale-{self.name}-driver.log").open("w")
        args = [
            sys.executable,
            "-c",
            DRIVER,
            str(self.out),
            f"scale-{self.name}",
            str(self.model),
            str(shared),
        ]
        self.proc = subprocess.Popen(
            args, cwd=self.tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("KEFU "):
                info = json.loads(line[5:])
                self.api, self.pids = info["api"], info["pids"]
                return
        raise RuntimeError(
            f"{self.name}: the stack did not start; see {self.out}/scale-{self.name}-driver.log"
        )

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per process kind."""
        return {kind: group_cpu_seconds(self.pids[kind]) for kind in KINDS}

    def _signal(self, sig: signal.Signals) -> None:
        for pid in self.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)

    def pause(self) -> None:
        """SIGSTOP every service while the other version is measured."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        """Resume, then let the driver stop its stack (closing its stdin)."""
        self.resume()
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
