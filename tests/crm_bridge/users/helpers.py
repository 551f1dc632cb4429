"""Accounts and clients for the sign-in tests: each test signs in from an address of its own, so the
per-address failure count of one test never locks another out."""

from __future__ import annotations

import itertools
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.users import service
from crm_bridge.users.models import Role

PASSWORD = "correct horse battery"
_addresses = (f"10.22.{i // 250}.{i % 250 + 1}" for i in itertools.count())


def make_user(session: Session, role: Role = Role.agent) -> tuple[str, int]:
    """A new account with PASSWORD: its username and id."""
    username = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    user = service.create(session, username=username, password=PASSWORD, role=role, languages=["en"])
    session.commit()
    return username, user.id


def new_client(client: TestClient) -> TestClient:
    """A client of the same app, with no cookies, from an address no other test uses."""
    return TestClient(client.app, client=(next(_addresses), 50000))


def token(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> str:
    """Sign in on the token route; the access token (asserting 200)."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password, **extra})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(value: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {value}"}
