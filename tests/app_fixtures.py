"""The crm_bridge app in-process on each database, and logged-in clients (tests/crm_bridge/...).
The real Rasa is not running here (the end-to-end tests cover it): `client`'s bot is the local fake
(tests/fakes/rasa_server.py, "echo: <text>"), `down_client`'s Rasa URL is a closed port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.app import create_app
from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from kefu.stack import free_port
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env

SERVICE_TOKEN = "test-service-token-0123456789abcdef"


@contextmanager
def app_client(
    db_url: str, service_token: str = SERVICE_TOKEN, rasa_url: str | None = None
) -> Iterator[TestClient]:
    """A client for an app on `db_url` whose Rasa is `rasa_url` (default: a closed port)."""
    bot = rasa_url or f"http://127.0.0.1:{free_port()}"
    with (
        kefu_env(
            DATABASE_URL=db_url,
            RASA_URL=bot,
            ACTION_SERVER_URL=bot,
            KEFU_SERVICE_TOKEN=service_token,
            KEFU_RASA_TIMEOUT="2",
            KEFU_TURN_ATTEMPTS="1",  # Rasa is down for good here: the customer is told at once
        ),
        TestClient(create_app()) as test_client,
    ):
        yield test_client


@pytest.fixture(scope="session")
def fake_rasa() -> Iterator[FakeRasa]:
    """The stand-in bot every in-process app of the run talks to."""
    bot = FakeRasa().start()
    yield bot
    bot.stop()


@pytest.fixture(scope="session")
def client(db_url: str, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """A client for an app whose bot is the fake Rasa ("echo: <text>")."""
    with app_client(db_url, rasa_url=fake_rasa.url) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def down_client(db_url: str) -> Iterator[TestClient]:
    """A client for an app whose Rasa (and action server) cannot be reached."""
    with app_client(db_url) as test_client:
        yield test_client


def logged_in(client: TestClient, session: Session, role: Role) -> tuple[TestClient, int]:
    """A new client logged in as a new user with `role`, and that user's id."""
    name = f"{role.value}-{uuid.uuid4().hex[:8]}"
    user = users.create(session, username=name, password="test password 1", role=role, languages=["en", "zh"])
    session.commit()
    fresh = TestClient(client.app)
    token = fresh.post("/api/v1/auth/token", data={"username": name, "password": "test password 1"}).json()
    fresh.headers["Authorization"] = f"Bearer {token['access_token']}"
    return fresh, user.id


@pytest.fixture
def agent_client(client: TestClient, session: Session) -> tuple[TestClient, int]:
    """Logged in as a new agent."""
    return logged_in(client, session, Role.agent)


@pytest.fixture
def admin_client(client: TestClient, session: Session) -> tuple[TestClient, int]:
    """Logged in as a new admin."""
    return logged_in(client, session, Role.admin)
