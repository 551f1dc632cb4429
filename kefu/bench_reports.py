"""`make bench --only reports` (issue 23): the summary and a time series through HTTP against a real
crm_bridge over 100,000 conversations and 1,000,000 messages, on PostgreSQL (a throw-away database) and
SQLite; the history is written in bulk (kefu/bench_reports_data.py), the rollup built by `kefu reports
rebuild`, and the write-side cost of the rollup's listeners measured by chat-like turns with them on
and off."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from kefu.bench_reports_data import ZONE, CoreSink, PostgresSink, Sink, Sizes
from kefu.bench_reports_history import History
from kefu.bench_reports_writes import doc_lines, write_cost
from kefu.benchlib import latency_summary, machine, now_iso, postgres_database, write_doc_section, yes_no
from kefu.bootstrap import prepare_database
from kefu.stack import start_worker
from kefu_core.db import make_engine

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_P95_MS = 500.0
# The reports' time zone and working hours (business-hours first response is computed per conversation).
ENV = {"KEFU_TIMEZONE": "Asia/Shanghai", "KEFU_BUSINESS_HOURS": "Mon-Fri 09:00-18:00"}
AGENTS = 12


@contextmanager
def report_settings() -> Iterator[None]:
    """ENV in this process's settings for the duration (restored afterwards)."""
    from kefu_core.settings import get_settings

    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def _users(url: str) -> tuple[list[int], str]:
    """AGENTS agents and one admin (-> agent ids, the admin's password)."""
    from sqlalchemy.orm import Session

    from crm_bridge.users import service as users
    from crm_bridge.users.models import Role

    password = secrets.token_urlsafe(16)
    engine = make_engine(url)
    with Session(engine) as session:
        agents = [
            users.create(
                session, username=f"agent{i}", password=password, role=Role.agent, languages=["en", "zh"]
            )
            for i in range(AGENTS)
        ]
        users.create(session, username="bench-admin", password=password, role=Role.admin)
        session.commit()
        ids = [a.id for a in agents]
    engine.dispose()
    return ids, password


def _load(kind: str, url: str, sizes: Sizes, now: datetime) -> dict[str, Any]:
    """Migrate, add users, write the history in bulk; -> row counts and seconds."""
    prepare_database(url, demo_users=False)
    agents, password = _users(url)
    engine = make_engine(url)
    sink: Sink = PostgresSink(engine) if kind == "postgresql" else CoreSink(engine)
    history = History(sizes, agents, now)
    counts: Counter[str] = Counter()
    began = time.perf_counter()
    for table, rows in (("contacts", history.contacts()), ("service_probes", history.probes())):
        sink.put(table, rows)
        counts[table] = len(rows)
    sink.commit()
    for i, batch in enumerate(history.batches(), 1):
        for table, rows in batch.rows.items():
            sink.put(table, rows)
        sink.commit()
        counts.update(batch.count())
        if i % 5 == 0 or counts["conversations"] == sizes.conversations:
            print(
                f">> reports ({kind}): {counts['conversations']:,}/{sizes.conversations:,} conversations, "
                f"{counts['messages']:,} messages, {time.perf_counter() - began:.0f} s",
                flush=True,
            )
    sink.close()
    load_s = time.perf_counter() - began
    _after_load(engine)
    engine.dispose()
    return {
        "rows": dict(counts),
        "load_s": round(load_s, 1),
        "write_s": round(sink.seconds, 1),
        "agents": agents,
        "password": password,
    }


def _after_load(engine: Any) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; statistics as a base in service would have them."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            for table in ("contacts", "tickets", "feedback"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                conn.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
            conn.execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))


def _rebuild(url: str, var: Path) -> dict[str, Any]:
    """`kefu reports rebuild` as an operator runs it; wall-clock seconds (process start included)."""
    env = {**os.environ, **ENV, "DATABASE_URL": url, "KEFU_VAR_DIR": str(var)}
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kefu.cli", "reports", "rebuild"], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"kefu reports rebuild failed:\n{done.stderr[-3000:]}")
    engine = make_engine(url)
    _after_load(engine)
    engine.dispose()
    return {"wall_s": round(wall, 1), "output": done.stdout.strip()}


def cases(today: date) -> dict[str, str]:
    """The requests measured: summaries of 360 and 30 local days, filtered by channel and by tag, and a daily
    series of the median first response over 360 days."""
    year, month, end = today - timedelta(days=359), today - timedelta(days=29), today
    summary = "/api/v1/reports/summary?from={}&to={}"
    return {
        "summary 360 days": summary.format(year, end),
        "summary 30 days": summary.format(month, end),
        "summary 360 days, channel=telegram": summary.format(year, end) + "&channel=telegram",
        "summary 360 days, tag=b2b": summary.format(year, end) + "&tag=b2b",
        "timeseries first_response_median by day, 360 days": (
            f"/api/v1/reports/timeseries?metric=first_response_median&interval=day&from={year}&to={end}"
        ),
    }


def _http(kind: str, url: str, var: Path, password: str, n: int, warm: int) -> dict[str, Any]:
    """Each case `warm` times unmeasured, then `n` times in a row, as the admin, over keep-alive."""
    service, base = start_worker(var, f"crm_bridge-{kind}", {**ENV, "DATABASE_URL": url})
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            token = http.post("/api/v1/auth/token", data={"username": "bench-admin", "password": password})
            token.raise_for_status()
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            for name, path in cases(datetime.now(ZONE).date()).items():
                times: list[float] = []
                for i in range(warm + n):
                    began = time.perf_counter()
                    response = http.get(path)
                    elapsed = (time.perf_counter() - began) * 1000
                    response.raise_for_status()
                    if i >= warm:
                        times.append(elapsed)
                body = response.json()
                lat = latency_summary(times)
                print(f">> reports ({kind}): {name}: p50 {lat['p50']} ms, p95 {lat['p95']} ms", flush=True)
                out[name] = {
                    "path": path,
                    "n": n,
                    "latency_ms": lat,
                    "met": lat["p95"] <= TARGET_P95_MS,
                    "conversations": body["volume"]["conversations"] if "volume" in body else None,
                    "points": len(body["points"]) if "points" in body else None,
                }
    finally:
        service.stop()
    return out


def _backend(kind: str, url: str, var: Path, sizes: Sizes, n: int, warm: int, turns: int) -> dict[str, Any]:
    print(
        f">> reports ({kind}): {sizes.conversations:,} conversations, {sizes.messages:,} messages", flush=True
    )
    loaded = _load(kind, url, sizes, datetime.now(UTC))
    print(f">> reports ({kind}): loaded in {loaded['load_s']} s; kefu reports rebuild", flush=True)
    rebuild = _rebuild(url, var)
    print(f">> reports ({kind}): {rebuild['output']} ({rebuild['wall_s']} s with process start)", flush=True)
    load_before = os.getloadavg()[0]
    requests = _http(kind, url, var, loaded.pop("password"), n, warm)
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # the machine is shared: say how busy
    print(f">> reports ({kind}): write side, {turns} chat turns with the listeners on and off", flush=True)
    with report_settings():
        writes = write_cost(url, turns)
    loaded.pop("agents")
    return {**loaded, "rebuild": rebuild, "requests": requests, "load_average": load, "write_side": writes}


def run(
    out: Path, sizes: Sizes | None = None, sqlite_sizes: Sizes | None = None, n: int = 30, warm: int = 3,
    turns: int = 300,
) -> dict[str, Any]:  # fmt: skip
    """PostgreSQL then SQLite; results for var/bench/reports.json and the docs table."""
    sizes = sizes or Sizes()
    sqlite_sizes = sqlite_sizes or sizes
    var = out / "reports"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    backends: dict[str, Any] = {}
    with postgres_database(PG_ADMIN, prefix="kefu_bench_reports") as url:
        backends["postgresql"] = _backend("postgresql", url, var, sizes, n, warm, turns)
    backends["sqlite"] = _backend("sqlite", f"sqlite:///{var / 'kefu.db'}", var, sqlite_sizes, n, warm, turns)
    (var / "kefu.db").unlink(missing_ok=True)
    stamp = now_iso()
    result = {
        "benchmark": "reports",
        "approach": "rollup conversation_facts (one row per conversation, kept by listeners in the "
        "committing transaction) with indexes on started_at and (contact_id, started_at); decision 0016",
        "sizes": {"postgresql": vars(sizes), "sqlite": vars(sqlite_sizes)},
        "settings": ENV,
        "backends": backends,
        "target_p95_ms": TARGET_P95_MS,
        "met": {k: all(r["met"] for r in b["requests"].values()) for k, b in backends.items()},
        "machine": machine(),
        "measured_at": stamp,
    }
    write_doc_section("reports", "Reports", doc_lines(result, yes_no))
    return result
