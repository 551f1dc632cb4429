"""Every response carries a request id; an error body names the same id."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_sane_caller_id_is_kept_and_echoed(client: TestClient) -> None:
    response = client.post(
        "/api/v1/chat", json={"user_id": "r1", "text": ""}, headers={"X-Request-ID": "abc-123"}
    )
    assert response.status_code == 422
    assert response.headers["X-Request-ID"] == "abc-123"
    assert response.json()["error"]["request_id"] == "abc-123"


def test_an_odd_caller_id_is_replaced(client: TestClient) -> None:
    response = client.get("/api/v1/contacts", headers={"X-Request-ID": "x" * 65})
    assert response.status_code == 401
    given = response.headers["X-Request-ID"]
    assert len(given) == 32 and given != "x" * 65
    assert response.json()["error"]["request_id"] == given


def test_success_responses_carry_an_id_too(client: TestClient) -> None:
    first = client.get("/livez").headers["X-Request-ID"]
    second = client.get("/livez").headers["X-Request-ID"]
    assert first and second and first != second
