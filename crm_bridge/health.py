"""Health endpoints: /livez (the process is up), /readyz (send it traffic), /healthz (every part the
assistant needs, named when it fails)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import httpx
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_bridge.db import DbSession
from crm_bridge.migrate import alembic_config
from crm_bridge.outbox import service as outbox
from crm_bridge.rasa_client import RasaClient
from kefu_core.db import get_sessionmaker
from kefu_core.settings import get_settings
from knowledge_base import service as kb

router = APIRouter(tags=["health"])
# The parts the assistant cannot answer without (the outbox is reported but never fails the check).
PARTS = ("database", "rasa", "action_server", "knowledge_base")


class Part(BaseModel):
    """One part's state; extra fields (entries, model, error) depend on the part."""

    model_config = ConfigDict(extra="allow")

    ok: bool


class HealthReport(BaseModel):
    """The whole report."""

    status: Literal["ok", "unavailable"]
    failing: list[str]
    parts: dict[str, Part]


def _check(fn: Any) -> dict[str, Any]:
    try:
        return {"ok": True, **(fn() or {})}
    except Exception as exc:  # every failure is a health answer, not a 500
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def check_parts(
    session: Session, rasa: RasaClient, *, indexed: Callable[[], int] | None = None
) -> dict[str, dict[str, Any]]:
    """Each of PARTS as {"ok", ...details}: /healthz and the availability probe (reports/probe.py) share it.
    `indexed` is the serving retriever's size, known only inside the app process."""
    settings = get_settings()

    def database() -> None:
        session.execute(text("SELECT 1"))

    def rasa_part() -> dict[str, Any]:
        status = rasa.ping()
        if not status.get("model_file"):
            raise RuntimeError("no model loaded")
        return {"model": str(status["model_file"]).rsplit("/", 1)[-1]}

    def action_server() -> None:
        httpx.get(f"{settings.action_server_url.rstrip('/')}/health", timeout=3.0).raise_for_status()

    def knowledge_base() -> dict[str, Any]:
        entries = kb.count_published(session)
        if entries == 0:
            raise RuntimeError("no published entries")
        return {"entries": entries, **({"indexed": indexed()} if indexed is not None else {})}

    checks = {
        "database": database,
        "rasa": rasa_part,
        "action_server": action_server,
        "knowledge_base": knowledge_base,
    }
    return {name: _check(checks[name]) for name in PARTS}


@router.get("/livez")
def livez() -> dict[str, str]:
    """The process is up and serving (liveness: restart it when this fails; /readyz says whether to
    send it traffic, /healthz checks every part)."""
    return {"status": "ok"}


@functools.cache
def _migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations this code ships (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


class Readiness(BaseModel):
    """Whether this worker should get traffic, and why not."""

    status: Literal["ready", "starting", "draining", "unavailable"]
    failing: list[str]


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "starting, draining, or a required part is down"}},
)
def readyz(request: Request) -> JSONResponse:
    """200 when this worker should get traffic: started, not draining after SIGTERM, the database
    reachable and its migrations at this code's head. Rasa is not required (turns queue until it is back)."""
    drain = getattr(request.app.state, "drain", None)
    state = drain.state if drain is not None else "ready"
    if state != "ready":
        return JSONResponse({"status": state, "failing": []}, status_code=503)
    failing: list[str] = []
    try:
        with get_sessionmaker()() as session:
            current = set(MigrationContext.configure(session.connection()).get_current_heads())
        if current != _migration_heads():
            failing.append("migrations")
    except Exception:  # the database is down or unreachable: not ready, never a 500
        failing.append("database")
    body = {"status": "unavailable" if failing else "ready", "failing": failing}
    return JSONResponse(body, status_code=503 if failing else 200)


@router.get(
    "/healthz",
    response_model=HealthReport,
    responses={
        503: {"model": HealthReport, "description": "one or more parts are down (named in `failing`)"}
    },
)
def healthz(request: Request, session: DbSession) -> JSONResponse:
    """Status of the database, Rasa, the action server and the knowledge base; 503 naming what failed.
    `parts.outbox` counts dead CRM sync items (a warning, never a failure)."""

    def outbox_items() -> dict[str, Any]:
        # Not a failure (the assistant still answers), but a stuck sync must not go unnoticed (issue 22).
        dead = outbox.dead_count(session)
        return {
            "dead": dead,
            **({"warning": f"{dead} outbox item(s) dead: kefu outbox replay"} if dead else {}),
        }

    parts = check_parts(session, request.app.state.rasa, indexed=lambda: request.app.state.retriever.size)
    parts["outbox"] = _check(outbox_items)
    failing = [name for name, part in parts.items() if not part["ok"] and name != "outbox"]
    body = {"status": "ok" if not failing else "unavailable", "failing": failing, "parts": parts}
    return JSONResponse(body, status_code=503 if failing else 200)
