"""Shared helpers for `make bench`: percentiles, JSON results, the docs/benchmarks.md table sections."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kefu_core.paths import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nWritten by `make bench` (raw results: `var/bench/*.json`). Each section is replaced "
    "when its benchmark runs again. Misses are reported as misses.\n"
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latency_summary(values_ms: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean / max, rounded to 0.1 ms."""
    return {
        "p50": round(percentile(values_ms, 50), 1),
        "p95": round(percentile(values_ms, 95), 1),
        "p99": round(percentile(values_ms, 99), 1),
        "mean": round(sum(values_ms) / len(values_ms), 1) if values_ms else float("nan"),
        "max": round(max(values_ms), 1) if values_ms else float("nan"),
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def now_iso() -> str:
    """UTC timestamp for results."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_result(out: Path, name: str, result: dict[str, Any]) -> Path:
    """Write var/bench/<name>.json."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def yes_no(met: bool) -> str:
    """Table cell for a target."""
    return "yes" if met else "**no**"


def write_doc_section(key: str, title: str, body_lines: list[str]) -> None:
    """Replace (or append) the section `key` of docs/benchmarks.md."""
    begin, end = f"<!-- bench:{key}:begin -->", f"<!-- bench:{key}:end -->"
    block = "\n".join([begin, f"## {title}", "", *body_lines, end])
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


def fresh_stack(out: Path, name: str, model: Path, env: dict[str, str] | None = None) -> Any:
    """Rasa, the action server and crm_bridge on free ports over a new SQLite database in out/<name>/
    (a kefu.stack.Stack, not started yet); `env` adds settings."""
    import shutil

    from kefu.bootstrap import prepare_database
    from kefu.stack import Ports, Stack

    var = out / name
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    url = f"sqlite:///{var / 'kefu.db'}"
    prepare_database(url, demo_users=False)
    return Stack(
        model=model,
        ports=Ports.free(),
        var=var,
        env={"DATABASE_URL": url, "KEFU_VAR_DIR": str(var), **(env or {})},
    )


@contextmanager
def postgres_database(admin_url: str, prefix: str = "kefu_bench") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database on `admin_url`'s server, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KEFU %d %d %d %d %d %d\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.duration))
end
"""


def run_wrk(
    base: str, script: str, *, seconds: int, var: Path, name: str, connections: int
) -> dict[str, Any]:
    """Drive `base` with wrk (2 threads, `connections` connections) for `seconds` with the Lua `script`;
    requests, errors (non-2xx/3xx and socket errors), rate and latency percentiles."""
    import subprocess

    path = var / f"{name}.lua"
    path.write_text(script + WRK_DONE)
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(path), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("KEFU "))
    requests, errors, p50, p95, p99, duration_us = (int(v) for v in line.split()[1:])
    return {
        "n": requests,
        "errors": errors,
        "per_second": round(requests / (duration_us / 1e6), 1),
        "latency_ms": {"p50": round(p50 / 1000, 1), "p95": round(p95 / 1000, 1), "p99": round(p99 / 1000, 1)},
        "seconds": seconds,
    }
