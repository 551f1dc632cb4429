"""CRM throughput: ticket creates with 10 concurrent clients, contact lookups among 100,000 contacts,
on SQLite and on PostgreSQL (a throw-away database), through the real HTTP API."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.db import make_engine, utcnow
from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from kefu.benchlib import latency_summary, machine, now_iso, write_doc_section, yes_no
from kefu.bootstrap import prepare_database
from kefu.stack import VENV_BIN, Service, free_port

Call = tuple[str, str, dict[str, Any] | None]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CLIENTS = 10


@contextmanager
def _postgres_db() -> Iterator[str]:
    name = f"kefu_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load_contacts(url: str, n: int) -> tuple[list[str], float]:
    """Insert `n` contacts in batches; returns their emails and the seconds it took."""
    engine = make_engine(url)
    emails = [f"bench{i}@example.com" for i in range(n)]
    started = time.perf_counter()
    now = utcnow()
    with engine.begin() as conn:
        for lo in range(0, n, 5000):
            rows = [
                {"name": f"Bench Person {i}", "email": emails[i], "phone": f"+86138{i:08d}",
                 "tier": "standard", "tags": [], "attributes": {}, "created_at": now, "updated_at": now}
                for i in range(lo, min(lo + 5000, n))
            ]  # fmt: skip
            conn.execute(insert(Contact), rows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return emails, seconds


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


def _hammer(
    base: str, token: str, calls: list[tuple[str, str, dict[str, Any] | None]]
) -> tuple[list[float], int, float]:
    """Run `calls` from CLIENTS threads; returns latencies (ms), errors and wall seconds."""
    chunks = [calls[i::CLIENTS] for i in range(CLIENTS)]

    def worker(chunk: Sequence[Call]) -> tuple[list[float], int]:
        lat, errs = [], 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for method, path, body in chunk:
                started = time.perf_counter()
                response = client.request(method, path, json=body) if body else client.request(method, path)
                lat.append((time.perf_counter() - started) * 1000)
                errs += response.status_code >= 400
        return lat, errs

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(worker, chunks))
    wall = time.perf_counter() - started
    return [x for lat, _ in results for x in lat], sum(e for _, e in results), wall


def _one_backend(
    kind: str, url: str, var: Path, contacts: int, creates: int, lookups: int, workers: int
) -> dict[str, Any]:
    print(f">> crm ({kind}): migrating, loading {contacts:,} contacts", flush=True)
    prepare_database(url, demo_users=False)
    emails, load_s = _load_contacts(url, contacts)
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
        env, f"{base}/openapi.json", var / "logs" / f"crm-{kind}.log",
    )  # fmt: skip
    server.start()
    try:
        deadline = time.monotonic() + 120
        while not server.ready():
            if time.monotonic() > deadline or (server.proc and server.proc.poll() is not None):
                raise RuntimeError(f"crm_bridge did not start:\n{server.tail()}")
            time.sleep(0.5)
        token = _admin_token(url, base)
        warm: list[Call] = [("POST", "/api/v1/tickets", {"subject": "warm-up"})] * 20
        _hammer(base, token, warm)
        print(f">> crm ({kind}): {creates} ticket creates, {CLIENTS} clients", flush=True)
        bodies: list[Call] = [
            ("POST", "/api/v1/tickets", {"subject": f"Bench ticket {i}", "priority": "normal"})
            for i in range(creates)
        ]
        create_lat, create_err, create_wall = _hammer(base, token, bodies)
        print(f">> crm ({kind}): {lookups} contact lookups by email", flush=True)
        rng = random.Random(0)
        finds: list[Call] = [
            ("GET", f"/api/v1/contacts?email={rng.choice(emails)}", None) for _ in range(lookups)
        ]
        lookup_lat, lookup_err, lookup_wall = _hammer(base, token, finds)
    finally:
        server.stop()
    return {
        "contacts": contacts,
        "contact_load_s": round(load_s, 1),
        "ticket_create": {
            "n": creates, "errors": create_err, "per_second": round(creates / create_wall, 1),
            "latency_ms": latency_summary(create_lat),
        },
        "contact_lookup": {
            "n": lookups, "errors": lookup_err, "per_second": round(lookups / lookup_wall, 1),
            "latency_ms": latency_summary(lookup_lat),
        },
        "uvicorn_workers": workers,
    }  # fmt: skip


def run(
    out: Path, contacts: int = 100_000, creates: int = 2000, lookups: int = 2000, workers: int = 2
) -> dict[str, Any]:
    """Both backends; results for var/bench/crm.json and the docs table."""
    var = out / "crm"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    backends = {
        "sqlite": _one_backend(
            "sqlite", f"sqlite:///{var / 'kefu.db'}", var, contacts, creates, lookups, workers
        )
    }
    with _postgres_db() as url:
        backends["postgresql"] = _one_backend("postgresql", url, var, contacts, creates, lookups, workers)
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
        f"{stamp}, {machine()['cpus']} cores, {CLIENTS} concurrent HTTP clients on loopback, "
        f"uvicorn with {workers} workers, lookups by exact email (`var/bench/crm.json`).",
    ]
    write_doc_section("crm", "CRM throughput", lines)
    return result
