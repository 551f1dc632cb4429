"""PROMETHEUS_MULTIPROC_DIR: counts made in several processes add up in one scrape, and an exited
process's open sockets stop counting (the supervisor, kefu/stack.py, empties the folder at start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kefu.stack import fresh_metrics_dir
from tests.crm_bridge.observability.scrape import value

COUNT = """
from crm_bridge.observability import metrics
metrics.webhook_event("telegram", "verification_failed")
metrics.websocket_opened("agent")
"""
RENDER = """
import sys
from crm_bridge.observability import metrics
sys.stdout.write(metrics.render().decode())
"""


def _run(code: str, folder: Path) -> str:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_counts_from_several_processes_add_up(tmp_path: Path) -> None:
    folder = fresh_metrics_dir(tmp_path / "prometheus")
    _run(COUNT, folder)
    _run(COUNT, folder)
    text = _run(RENDER, folder)
    assert value(text, "kefu_webhook_verification_failures_total", channel="telegram") == 2
    assert value(text, "kefu_websocket_accepted_total", kind="agent") == 2
    # Both processes exited: their sockets are closed, whatever they last reported.
    assert value(text, "kefu_websocket_connections", kind="agent") == 0
    # A fresh start forgets the previous run.
    fresh_metrics_dir(folder)
    assert value(_run(RENDER, folder), "kefu_webhook_verification_failures_total") == 0
