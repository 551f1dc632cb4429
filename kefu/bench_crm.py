"""CRM throughput: ticket creates with 10 concurrent clients, contact lookups among 100,000 contacts,
on SQLite and on PostgreSQL (a throw-away database), through the real HTTP API."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from kefu.benchlib import machine, now_iso, postgres_database, run_wrk, write_doc_section, yes_no
from kefu.bootstrap import prepare_database
from kefu.stack import VENV_BIN, Service, free_port
from kefu_core.db import make_engine, utcnow

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CLIENTS = 10


def _load_contacts(url: str, n: int) -> float:
    """Insert `n` contacts (emails bench0@example.com …) in batches; returns the seconds it took."""
    engine = make_engine(url)
    started = time.perf_counter()
    now = utcnow()
    with engine.begin() as conn:
        for lo in range(0, n, 5000):
            rows = [
                {"name": f"Bench Person {i}", "email": f"bench{i}@example.com", "phone": f"+86138{i:08d}",
                 "tier": "standard", "tags": [], "attributes": {}, "created_at": now, "updated_at": now}
                for i in range(lo, min(lo + 5000, n))
            ]  # fmt: skip
            conn.execute(insert(Contact), rows)
    seconds = time.perf_counter() - started
    # A base that has held its contacts for a while has been vacuumed and analysed; right after a bulk
    # load PostgreSQL's autovacuum would do both during the measurement, on the same two cores.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE contacts" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return seconds


def _admin_token(url: str, base: str) -> str:
    password = secrets.token_urlsafe(16)
    engine = make_engine(url)
    with Session(engine) as session:
        users.create(session, username="bench-admin", password=password, role=Role.admin)
        session.commit()
    engine.dispose()
    response = httpx.post(f"{base}/api/v1/auth/token", data={"username": "bench-admin", "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


CREATE_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"subject": "Bench ticket ' .. n .. '", "priority": "normal"}')
end
"""
LOOKUP_LUA = """
wrk.headers["Authorization"] = "Bearer %(token)s"
math.randomseed(0)
request = function()
  return wrk.format("GET", "/api/v1/contacts?email=bench" .. math.random(0, %(n)d - 1) .. "@example.com")
end
"""


def _wrk(base: str, script: str, seconds: int, var: Path, name: str) -> dict[str, Any]:
    """Drive `base` with wrk (CLIENTS connections) for `seconds`."""
    return run_wrk(base, script, seconds=seconds, var=var, name=name, connections=CLIENTS)


def _one_backend(kind: str, url: str, var: Path, contacts: int, seconds: int, workers: int) -> dict[str, Any]:
    print(f">> crm ({kind}): migrating, loading {contacts:,} contacts", flush=True)
    prepare_database(url, demo_users=False)
    load_s = _load_contacts(url, contacts)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ, "DATABASE_URL": url, "KEFU_VAR_DIR": str(var),
        "KEFU_SECRET_KEY": secrets.token_urlsafe(32), "KEFU_SERVICE_TOKEN": secrets.token_urlsafe(32),
    }  # fmt: skip
    (var / "logs").mkdir(parents=True, exist_ok=True)
    server = Service(
        "crm_bridge",
        [str(VENV_BIN / "uvicorn"), "crm_bridge.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log"],
        env, f"{base}/livez", var / "logs" / f"crm-{kind}.log",
    )  # fmt: skip
    server.start()
    try:
        deadline = time.monotonic() + 120
        while not server.ready():
            if time.monotonic() > deadline or (server.proc and server.proc.poll() is not None):
                raise RuntimeError(f"crm_bridge did not start:\n{server.tail()}")
            time.sleep(0.5)
        token = _admin_token(url, base)
        _wrk(base + "/api/v1/tickets", CREATE_LUA % {"token": token}, 2, var, f"warm-{kind}")
        print(f">> crm ({kind}): ticket creates for {seconds} s, {CLIENTS} connections", flush=True)
        create = _wrk(base + "/api/v1/tickets", CREATE_LUA % {"token": token}, seconds, var, f"create-{kind}")
        print(f">> crm ({kind}): contact lookups by email for {seconds} s", flush=True)
        lookup = _wrk(base, LOOKUP_LUA % {"token": token, "n": contacts}, seconds, var, f"lookup-{kind}")
    finally:
        server.stop()
    return {
        "contacts": contacts,
        "contact_load_s": round(load_s, 1),
        "ticket_create": create,
        "contact_lookup": lookup,
        "uvicorn_workers": workers,
    }


def run(out: Path, contacts: int = 100_000, seconds: int = 10, workers: int = 2) -> dict[str, Any]:
    """Both backends; results for var/bench/crm.json and the docs table."""
    var = out / "crm"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    backends = {
        "sqlite": _one_backend("sqlite", f"sqlite:///{var / 'kefu.db'}", var, contacts, seconds, workers)
    }
    with postgres_database(PG_ADMIN) as url:
        backends["postgresql"] = _one_backend("postgresql", url, var, contacts, seconds, workers)
    pg = backends["postgresql"]
    met = {
        "postgresql_ticket_creates": pg["ticket_create"]["per_second"] >= 300,
        "lookup_p95": all(b["contact_lookup"]["latency_ms"]["p95"] <= 20 for b in backends.values()),
    }
    stamp = now_iso()
    result = {
        "benchmark": "crm_throughput",
        "clients": CLIENTS,
        "backends": backends,
        "targets": {"postgresql_ticket_creates_per_s": 300, "lookup_p95_ms": 20},
        "met": met,
        "machine": machine(),
        "measured_at": stamp,
    }
    lines = [
        "| backend | ticket creates/s | create p95 | lookup p50 | lookup p95 | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, b in backends.items():
        tc, cl = b["ticket_create"], b["contact_lookup"]
        lines.append(
            f"| {name} | {tc['per_second']} | {tc['latency_ms']['p95']} ms | {cl['latency_ms']['p50']} ms | "
            f"{cl['latency_ms']['p95']} ms | {tc['errors'] + cl['errors']} |"
        )
    lines += [
        "",
        f"Targets: ≥ 300 ticket creates/s on PostgreSQL — {yes_no(met['postgresql_ticket_creates'])}; "
        f"lookup p95 ≤ 20 ms with {contacts:,} contacts — {yes_no(met['lookup_p95'])}.",
        f"{stamp}, {machine()['cpus']} cores, wrk with {CLIENTS} connections for {seconds} s each on "
        f"loopback, uvicorn with {workers} workers, lookups by exact email (`var/bench/crm.json`).",
    ]
    write_doc_section("crm", "CRM throughput", lines)
    return result
