"""The crm_bridge app in-process, on each database. Rasa is deliberately not running here:
the end-to-end tests cover the real Rasa path; these cover validation and the Rasa-down path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from crm_bridge.app import create_app
from kefu.stack import free_port
from tests.helpers import kefu_env

SERVICE_TOKEN = "test-service-token-0123456789abcdef"


@pytest.fixture(scope="session")
def client(db_url: str) -> Iterator[TestClient]:
    """A client for an app whose Rasa URL points at a closed port."""
    closed = f"http://127.0.0.1:{free_port()}"
    with (
        kefu_env(
            DATABASE_URL=db_url,
            RASA_URL=closed,
            ACTION_SERVER_URL=closed,
            KEFU_SERVICE_TOKEN=SERVICE_TOKEN,
            KEFU_RASA_TIMEOUT="2",
        ),
        TestClient(create_app()) as test_client,
    ):
        yield test_client
