"""Feedback: CSAT/NPS validation, links, summary over a date range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient


def test_rating_bounds(agent_client: tuple[TestClient, int]) -> None:
    api, _ = agent_client
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 3, "nps": 11}, {"rating": 3, "nps": -1}, {}):
        assert api.post("/api/v1/feedback", json=bad).status_code == 422
    assert api.post("/api/v1/feedback", json={"rating": 5, "ticket_number": "T-999999999"}).status_code == 422


def test_links_and_summary(agent_client: tuple[TestClient, int]) -> None:
    api, agent_id = agent_client
    ticket = api.post("/api/v1/tickets", json={"subject": "rated"}).json()["number"]
    created = api.post(
        "/api/v1/feedback",
        json={"rating": 5, "nps": 10, "comment": "great", "ticket_number": ticket, "agent_id": agent_id},
    )
    assert created.status_code == 201, created.text
    assert created.json()["ticket_number"] == ticket
    api.post("/api/v1/feedback", json={"rating": 2, "nps": 3, "agent_id": agent_id})
    api.post("/api/v1/feedback", json={"rating": 4, "agent_id": agent_id})
    summary = api.get("/api/v1/feedback/summary", params={"agent_id": agent_id}).json()
    assert summary["count"] == 3
    assert summary["csat_average"] == round((5 + 2 + 4) / 3, 2)
    assert summary["csat_satisfied_share"] == round(2 / 3, 4)
    assert summary["nps"] == 0.0  # one promoter, one detractor
    assert summary["nps_responses"] == 2
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    empty = api.get("/api/v1/feedback/summary", params={"agent_id": agent_id, "created_from": future}).json()
    assert empty == {
        "count": 0,
        "csat_average": None,
        "csat_satisfied_share": None,
        "nps": None,
        "nps_responses": 0,
    }
    listed = api.get("/api/v1/feedback", params={"agent_id": agent_id}).json()
    assert listed["total"] == 3
