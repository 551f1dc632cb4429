"""schemathesis against the OpenAPI document, every phase: no 5xx, and every response matches its schema.

The engine `schemathesis run` drives (examples, coverage, fuzzing, then stateful sequences over the links
it infers between create and read/update/delete), called in-process with an admin token and a fixed
seed, on SQLite and PostgreSQL. Each database is a fresh one of its own: fuzzing writes thousands of rows
and edits accounts, which other tests sharing the session database should not see.
(schemathesis's pytest plugin does not work with pytest 9 here, hence the engine.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from sqlalchemy import update
from sqlalchemy.orm import Session

from crm_bridge.users import service as users
from crm_bridge.users.auth import forget_account
from crm_bridge.users.models import AuthSession, Role, User
from kefu.bootstrap import prepare_database
from kefu_core.db import make_engine
from tests.app_fixtures import app_client
from tests.crm_bridge.databases import fresh_database

SEED = 25
# Fuzzing examples per operation (the coverage phase's cases do not depend on it): enough that every
# PATCH body is tried with nulls, within about three minutes per database on two cores.
EXAMPLES = 15
PHASES = ("examples", "coverage", "fuzzing", "stateful")
PASSWORD = "kettle orbit harbour 7"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh migrated and seeded database of each kind, for this module only."""
    with fresh_database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        prepare_database(url)
        yield url


@dataclass
class Admin:
    """The fuzzing account."""

    user_id: int
    headers: dict[str, str]
    db_url: str


@pytest.fixture(scope="module")
def fuzz_client(db_url: str) -> Iterator[TestClient]:
    """The app on that database, Rasa pointing at a closed port."""
    with app_client(db_url, "fuzz-service-token-0123456789abcdef") as client:
        yield client


@pytest.fixture(scope="module")
def admin(fuzz_client: TestClient, db_url: str) -> Admin:
    """An admin account and its bearer header (admins may call every route)."""
    engine = make_engine(db_url)
    with Session(engine) as session:
        user = users.create(session, username="fuzz-admin", password=PASSWORD, role=Role.admin)
        session.commit()
        user_id = user.id
    engine.dispose()
    form = {"username": "fuzz-admin", "password": PASSWORD}
    token = fuzz_client.post("/api/v1/auth/token", data=form).json()["access_token"]
    return Admin(user_id, {"Authorization": f"Bearer {token}"}, db_url)


@dataclass
class Findings:
    """What a run found, by phase, operation and kind."""

    failures: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str, str], str] = field(default_factory=dict)
    cases: Counter[str] = field(default_factory=Counter)
    phases: dict[str, Status] = field(default_factory=dict)
    transitions: int = 0
    admin_restored: int = 0

    def add(self, phase: str, operation: str, kind: str, sample: str) -> None:
        """Count one failure; keep the first sample of each."""
        key = (phase, operation, kind)
        self.failures[key] += 1
        self.samples.setdefault(key, sample[:700])

    def summary(self) -> str:
        """Cases per phase and the stateful links."""
        phases = {name: status.value for name, status in self.phases.items()}
        return (
            f"cases {dict(self.cases)}; phases {phases}; stateful links {self.transitions}; "
            f"admin restored {self.admin_restored} times"
        )

    def report(self) -> str:
        """One line per kind of failure, with a sample."""
        lines = []
        for (phase, op, kind), n in sorted(self.failures.items()):
            lines.append(f"{n} x [{phase}] {op}: {kind}\n    {self.samples[phase, op, kind]}")
        return "\n".join(lines)


def _label(case: Any) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


def _record_scenario(found: Findings, event: events.ScenarioFinished) -> None:
    phase = str(event.phase.value)
    found.cases[phase] += len(event.recorder.cases)
    for case_id, checks in event.recorder.checks.items():
        case = event.recorder.cases[case_id].value
        interaction = event.recorder.interactions.get(case_id)
        response = interaction.response if interaction is not None else None
        status = response.status_code if response is not None else None
        for check in checks:
            if check.status != Status.FAILURE:
                continue
            body = response.content[:300].decode(errors="replace") if response is not None else ""
            sample = f"body={case.body!r} path={case.path_parameters!r} -> {status} {body}"
            found.add(phase, _label(case), f"{check.name} ({status})", sample)


SESSION_ENDING = {"/api/v1/auth/logout", "/api/v1/auth/sessions/{session_id}", "/api/v1/auth/mfa/disable"}


def run_schemathesis(app: Any, admin: Admin, *, seed: int = SEED, examples: int = EXAMPLES) -> Findings:
    """Every phase over every operation; the checks are no 5xx and schema conformance."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "headers": admin.headers,
            "workers": 1,
            "generation": {"max-examples": examples},
            "phases": {name: {"enabled": True} for name in PHASES},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
            },
            # /healthz answers 503 by contract while Rasa is down (as here); its schema is still checked.
            "operations": [
                {"include-path": "/healthz", "checks": {"not_a_server_error": {"enabled": False}}}
            ],
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    found = Findings()
    engine = make_engine(admin.db_url)

    @schema.hook("after_call")
    def keep_the_admin(context: Any, case: Any, response: Any) -> None:
        # A fuzzed PATCH may demote or deactivate the account fuzzing runs as: restore it, so the rest
        # of the run is not a wall of 401s (the change itself was checked like any other).
        # Logging out or ending a session may end the admin's own: revive it the same way.
        target = str((case.path_parameters or {}).get("user_id"))
        own_user = case.operation.path == "/api/v1/users/{user_id}" and target == str(admin.user_id)
        if own_user or case.operation.path in SESSION_ENDING:
            with Session(engine) as session:
                session.execute(
                    update(User).where(User.id == admin.user_id).values(role=Role.admin, active=True)
                )
                session.execute(
                    update(AuthSession).where(AuthSession.user_id == admin.user_id).values(revoked_at=None)
                )
                session.commit()
            forget_account(admin.user_id)
            found.admin_restored += 1

    try:
        _collect(found, from_schema(schema).execute())
    finally:
        engine.dispose()
    return found


def _collect(found: Findings, stream: Any) -> None:
    for event in stream:
        if isinstance(event, events.PhaseStarted) and event.payload is not None:
            found.transitions = event.payload.transitions_total
        elif isinstance(event, events.PhaseFinished):
            found.phases[str(event.phase.name.value)] = event.status
        elif isinstance(event, events.ScenarioFinished):
            _record_scenario(found, event)
        elif isinstance(event, events.NonFatalError):
            # In-process, an unhandled exception reaches the client instead of a 500 answer.
            first = str(event.value).splitlines()[0] if str(event.value) else ""
            phase = str(event.phase.value) if event.phase is not None else "?"
            found.add(phase, event.label, f"{type(event.value).__name__}: {first[:160]}", str(event.value))
        elif isinstance(event, events.FatalError):
            found.add("-", "-", f"fatal: {type(event.exception).__name__}", str(event.exception))
        elif isinstance(event, events.Interrupted):
            found.add("-", "-", "interrupted", "")


def test_every_phase_no_server_errors_and_schema_conformance(fuzz_client: TestClient, admin: Admin) -> None:
    found = run_schemathesis(fuzz_client.app, admin)
    print(found.summary())
    assert not found.failures, f"{sum(found.failures.values())} failures\n{found.report()}"
    assert fuzz_client.get("/api/v1/auth/me", headers=admin.headers).json()["role"] == "admin"
    for phase in PHASES:
        assert found.phases.get(phase) == Status.SUCCESS, (phase, found.phases)
        assert found.cases[phase] > 0, (phase, found.cases)
    assert found.transitions >= 20  # stateful links inferred between creates and reads/updates/deletes
