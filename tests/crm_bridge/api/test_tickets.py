"""Tickets: numbering, workflow (409 naming allowed moves), SLA, timeline, idempotent create, filters."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def agent(agent_client: tuple[TestClient, int]) -> tuple[TestClient, int]:
    """Logged in as a new agent."""
    return agent_client


def test_tickets_need_a_role(client: TestClient) -> None:
    assert TestClient(client.app).get("/api/v1/tickets").status_code == 401


def test_create_number_and_sla(agent: tuple[TestClient, int]) -> None:
    api, _ = agent
    response = api.post("/api/v1/tickets", json={"subject": "Broken mug", "priority": "urgent"})
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["number"].startswith("T-") and len(ticket["number"]) >= 8
    assert ticket["status"] == "new"
    from datetime import datetime

    created = datetime.fromisoformat(ticket["created_at"])
    assert datetime.fromisoformat(ticket["first_response_due_at"]) - created == timedelta(minutes=15)
    assert datetime.fromisoformat(ticket["resolution_due_at"]) - created == timedelta(hours=4)
    assert ticket["first_response_breached"] is False
    assert [e["kind"] for e in ticket["events"]] == ["created"]
    assert api.get(f"/api/v1/tickets/{ticket['number']}").json()["subject"] == "Broken mug"


def test_workflow_and_409(agent: tuple[TestClient, int]) -> None:
    api, _ = agent
    number = api.post("/api/v1/tickets", json={"subject": "Late parcel"}).json()["number"]
    assert api.patch(f"/api/v1/tickets/{number}", json={"status": "open"}).json()["status"] == "open"
    bad = api.patch(f"/api/v1/tickets/{number}", json={"status": "closed"})
    assert bad.status_code == 409
    error = bad.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["details"]["allowed"] == ["pending", "resolved"]
    assert "pending, resolved" in error["message"]
    resolved = api.patch(f"/api/v1/tickets/{number}", json={"status": "resolved"}).json()
    assert resolved["resolved_at"] is not None
    closed = api.patch(f"/api/v1/tickets/{number}", json={"status": "closed"}).json()
    assert closed["status"] == "closed"
    again = api.patch(f"/api/v1/tickets/{number}", json={"status": "open"})
    assert again.status_code == 409
    kinds = [e["kind"] for e in api.get(f"/api/v1/tickets/{number}").json()["events"]]
    assert kinds == ["created", "status_change", "status_change", "status_change"]


def test_reply_note_priority_assignee(agent: tuple[TestClient, int]) -> None:
    api, agent_id = agent
    number = api.post("/api/v1/tickets", json={"subject": "Wrong size"}).json()["number"]
    note = api.post(f"/api/v1/tickets/{number}/events", json={"kind": "internal_note", "body": "check stock"})
    assert note.status_code == 201
    assert api.get(f"/api/v1/tickets/{number}").json()["first_responded_at"] is None
    api.post(
        f"/api/v1/tickets/{number}/events", json={"kind": "public_reply", "body": "We will exchange it."}
    )
    ticket = api.get(f"/api/v1/tickets/{number}").json()
    assert ticket["first_responded_at"] is not None
    assert ticket["status"] == "open"  # the first public reply opens a new ticket
    low = api.patch(f"/api/v1/tickets/{number}", json={"priority": "low", "assignee_id": agent_id}).json()
    assert low["assignee_id"] == agent_id
    assert [e["kind"] for e in low["events"]][-2:] == ["priority_change", "assignment"]
    assert api.patch(f"/api/v1/tickets/{number}", json={"assignee_id": 999999}).status_code == 422
    bad_kind = api.post(f"/api/v1/tickets/{number}/events", json={"kind": "shout", "body": "x"})
    assert bad_kind.status_code == 422


def test_idempotent_create(agent: tuple[TestClient, int]) -> None:
    api, _ = agent
    key = uuid.uuid4().hex
    body = {"subject": "Refund missing", "priority": "high"}
    first = api.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
    second = api.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["number"] == second.json()["number"]
    other = api.post("/api/v1/tickets", json={"subject": "Other"}, headers={"Idempotency-Key": key})
    assert other.status_code == 409


def test_filters_and_pagination(agent: tuple[TestClient, int]) -> None:
    api, agent_id = agent
    tag = uuid.uuid4().hex[:6]
    for i in range(3):
        api.post(
            "/api/v1/tickets", json={"subject": f"{tag} {i}", "priority": "low", "assignee_id": agent_id}
        )
    page = api.get("/api/v1/tickets", params={"assignee_id": agent_id, "priority": "low", "limit": 2}).json()
    assert page["total"] == 3
    assert len(page["items"]) == 2
    rest = api.get("/api/v1/tickets", params={"assignee_id": agent_id, "limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 1
    assert api.get("/api/v1/tickets", params={"status": "bogus"}).status_code == 422


def test_unknown_and_malformed_numbers(agent: tuple[TestClient, int]) -> None:
    api, _ = agent
    assert api.get("/api/v1/tickets/T-999999999").status_code == 404
    assert api.get("/api/v1/tickets/nonsense").status_code == 404
    assert api.post("/api/v1/tickets", json={"subject": "  "}).status_code == 422
    assert api.post("/api/v1/tickets", json={"subject": "x", "contact_id": 99999999}).status_code == 422
