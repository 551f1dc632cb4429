"""The dead-job API for admins: list dead jobs, replay them (the same as `kefu jobs`)."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.jobs import queue
from crm_bridge.jobs import service as jobs

RAN: list[str] = []


@queue.task("tests.api_replayable")
def replayable(marker: str) -> None:
    """Records that it ran."""
    RAN.append(marker)


def _dead(session: Session) -> tuple[int, str]:
    marker = uuid.uuid4().hex
    job = jobs.record_dead(
        session, task="tests.api_replayable", job_id=uuid.uuid4().hex, args=[marker], kwargs={}, error="E: x"
    )
    session.commit()
    return job.id, marker


def test_agents_may_not_see_dead_jobs(agent_client: tuple[TestClient, int]) -> None:
    client, _ = agent_client
    assert client.get("/api/v1/jobs/dead").status_code == 403
    assert client.post("/api/v1/jobs/dead/replay", json={"all_dead": True}).status_code == 403


def test_an_admin_lists_and_replays_a_dead_job(
    admin_client: tuple[TestClient, int], session: Session
) -> None:
    client, _ = admin_client
    job_id, marker = _dead(session)
    page = client.get("/api/v1/jobs/dead", params={"limit": 500}).json()
    listed = {item["id"]: item for item in page["items"]}
    assert page["total"] >= 1 and listed[job_id]["arguments"] == [marker]
    assert listed[job_id]["status"] == "dead" and listed[job_id]["error"] == "E: x"

    response = client.post("/api/v1/jobs/dead/replay", json={"ids": [job_id]})
    assert response.status_code == 200 and response.json() == {"replayed": [job_id]}
    deadline = time.monotonic() + 20
    while marker not in RAN:  # crm_bridge's own worker threads run it
        assert time.monotonic() < deadline, "the replayed job did not run"
        time.sleep(0.1)
    replayed = client.get("/api/v1/jobs/dead", params={"status": "replayed", "limit": 500}).json()
    assert job_id in {item["id"] for item in replayed["items"]}

    again = client.post("/api/v1/jobs/dead/replay", json={"ids": [job_id]})
    assert again.status_code == 404 and str(job_id) in again.json()["error"]["message"]


def test_replay_needs_ids_or_all_dead(admin_client: tuple[TestClient, int]) -> None:
    client, _ = admin_client
    for body in ({}, {"ids": [1], "all_dead": True}, {"ids": []}, {"all_dead": False}):
        response = client.post("/api/v1/jobs/dead/replay", json=body)
        assert response.status_code == 422, body
