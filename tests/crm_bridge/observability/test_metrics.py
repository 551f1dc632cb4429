"""/metrics after driving the app: a chat turn through the fake bot, a refused webhook, a widget socket, a
KB search, dead and waiting items in the database; the token; per-route templates (issue 24, item 4)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from crm_bridge.jobs.models import DeadJob
from crm_bridge.jobs.queue import task
from crm_bridge.outbox.models import OutboxItem, OutboxStatus
from kefu_core.db import utcnow
from kefu_core.settings import Settings
from tests.app_fixtures import SERVICE_TOKEN
from tests.crm_bridge.channels.apps import channel_app, wait_for
from tests.crm_bridge.observability.scrape import labels, names, value
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env

SECRET = "webhook-secret-0123456789abcdef"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture(scope="module")
def app(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """crm_bridge with Telegram configured (so its webhook verifies), worker threads and the fake bot."""
    rasa = FakeRasa().start()
    settings = {
        "KEFU_TELEGRAM_BOT_TOKEN": "123456:TEST-telegram-token-not-real",
        "KEFU_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "KEFU_TELEGRAM_API_URL": "http://127.0.0.1:9",
    }
    with channel_app(db_url, tmp_path_factory, rasa, **settings) as client:
        yield client
    rasa.stop()


def scrape(client: TestClient) -> str:
    """GET /metrics, checked to be Prometheus text."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_a_chat_turn_is_timed_by_stage_and_end_to_end(app: TestClient) -> None:
    before = scrape(app)
    reply = app.post("/api/v1/chat", json={"user_id": f"m-{uuid.uuid4().hex[:8]}", "text": "hello metrics"})
    assert reply.status_code == 200
    assert [m["text"] for m in reply.json()["messages"]] == ["echo: hello metrics"]

    # The job ends a moment after the reply is committed (and the caller answered).
    def grew(name: str, **wanted: str) -> bool:
        return value(scrape(app), name, **wanted) > value(before, name, **wanted)

    for stage in ("store", "sentiment", "rasa", "commit"):
        wait_for(lambda: grew("kefu_turn_stage_seconds_count", stage=stage))  # noqa: B023
    wait_for(lambda: grew("kefu_turn_seconds_count", outcome="done"))
    wait_for(lambda: grew("kefu_job_seconds_count", task="turns.process", outcome="done"))
    after = scrape(app)
    # The chat request itself, by its route template and status class.
    assert value(
        after, "kefu_http_request_duration_seconds_count", route="/api/v1/chat", method="POST", status="2xx"
    ) > value(
        before, "kefu_http_request_duration_seconds_count", route="/api/v1/chat", method="POST", status="2xx"
    )


def test_routes_are_labelled_by_template_never_by_raw_path(app: TestClient) -> None:
    app.get("/api/v1/tickets/TK-424242")  # 401: no credentials
    app.get("/no/such/path/8675309")
    text = scrape(app)
    routes = labels(text, "kefu_http_request_duration_seconds_count", "route")
    assert "/api/v1/tickets/{number}" in routes and "unmatched" in routes
    assert not any("424242" in route or "8675309" in route for route in routes)
    assert (
        value(
            text, "kefu_http_request_duration_seconds_count", route="/api/v1/tickets/{number}", status="4xx"
        )
        >= 1
    )


def test_a_refused_webhook_is_counted_per_channel(app: TestClient) -> None:
    before = value(scrape(app), "kefu_webhook_verification_failures_total", channel="telegram")
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
    assert app.post("/webhooks/telegram", json={"update_id": 1}, headers=wrong).status_code == 401
    after = value(scrape(app), "kefu_webhook_verification_failures_total", channel="telegram")
    assert after == before + 1


def test_open_widget_sockets_are_counted_while_open(app: TestClient) -> None:
    token = app.post("/api/v1/widget/session", json={}).json()["token"]
    before = value(scrape(app), "kefu_websocket_connections", kind="widget")
    with app.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        text = scrape(app)
        assert value(text, "kefu_websocket_connections", kind="widget") == before + 1
        assert value(text, "kefu_websocket_accepted_total", kind="widget") >= 1
    wait_for(lambda: value(scrape(app), "kefu_websocket_connections", kind="widget") == before, timeout=5)
    # A refused token is never counted as a connection.
    with app.websocket_connect("/api/v1/widget/ws?token=nope") as ws, pytest.raises(WebSocketDisconnect):
        ws.receive_json()
    assert value(scrape(app), "kefu_websocket_connections", kind="widget") == before


def test_kb_search_time_and_decision_mix(app: TestClient) -> None:
    before = scrape(app)
    for question in ("how do I reset my password", "qwzx blorf"):
        response = app.get("/api/v1/kb/search", params={"q": question, "lang": "en"}, headers=SERVICE)
        assert response.status_code == 200
    after = scrape(app)
    assert value(after, "kefu_kb_search_seconds_count", language="en") == (
        value(before, "kefu_kb_search_seconds_count", language="en") + 2
    )
    decided = value(after, "kefu_kb_decisions_total") - value(before, "kefu_kb_decisions_total")
    assert decided == 2
    assert labels(after, "kefu_kb_decisions_total", "decision") <= {"answer", "clarify", "none"}


def test_queue_depth_oldest_age_and_dead_items_come_from_the_database(
    app: TestClient, session: Session
) -> None:
    before = scrape(app)
    old = utcnow() - timedelta(seconds=600)
    waiting = OutboxItem(connector="metrics-test", operation="upsert_contact", payload={}, created_at=old)
    dead = OutboxItem(
        connector="metrics-test", operation="upsert_contact", payload={}, status=OutboxStatus.dead
    )
    job = DeadJob(
        task="metrics.test", job_id=uuid.uuid4().hex, args=[], kwargs={}, error="RuntimeError: test"
    )
    session.add_all([waiting, dead, job])
    session.commit()
    try:
        after = scrape(app)
        assert (
            value(after, "kefu_queue_depth", queue="crm_outbox")
            == value(before, "kefu_queue_depth", queue="crm_outbox") + 1
        )
        assert value(after, "kefu_queue_oldest_age_seconds", queue="crm_outbox") >= 600
        assert (
            value(after, "kefu_outbox_dead_items", outbox="crm_outbox")
            == value(before, "kefu_outbox_dead_items", outbox="crm_outbox") + 1
        )
        assert (
            value(after, "kefu_outbox_dead_items", outbox="jobs")
            == value(before, "kefu_outbox_dead_items", outbox="jobs") + 1
        )
        for queue in ("turns", "deliveries", "crm_outbox", "jobs", "jobs_scheduled"):
            assert f'queue="{queue}"' in after, queue
    finally:
        for row in (waiting, dead, job):
            session.delete(row)
        session.commit()


def test_every_named_series_is_exposed_with_the_kefu_prefix(app: TestClient) -> None:
    text = scrape(app)
    expected = {
        "kefu_http_request_duration_seconds_bucket",
        "kefu_turn_stage_seconds_bucket",
        "kefu_turn_seconds_bucket",
        "kefu_queue_depth",
        "kefu_queue_oldest_age_seconds",
        "kefu_outbox_dead_items",
        "kefu_webhook_verification_failures_total",
        "kefu_websocket_connections",
        "kefu_kb_search_seconds_bucket",
        "kefu_kb_decisions_total",
        "kefu_job_seconds_bucket",
    }
    assert expected <= names(text)


_calls: list[int] = []


@task("metrics.always_fails", retries=1, retry_delay=0)
def always_fails() -> None:
    """A job that fails every time: one retry, then dead."""
    _calls.append(1)
    raise RuntimeError("failing on purpose")


def test_job_failures_retries_and_dead_jobs_are_counted(app: TestClient, session: Session) -> None:
    before, runs = scrape(app), len(_calls)
    always_fails()
    wait_for(lambda: len(_calls) == runs + 2)

    def grew(text: str, name: str) -> float:
        return value(text, name, task="metrics.always_fails") - value(
            before, name, task="metrics.always_fails"
        )

    wait_for(lambda: grew(scrape(app), "kefu_jobs_dead_total") == 1)
    after = scrape(app)
    assert grew(after, "kefu_job_failures_total") == 2
    assert grew(after, "kefu_job_retries_total") == 1
    # The dead job it left would be replayed (and die again) by other tests' `--all-dead`.
    session.execute(delete(DeadJob).where(DeadJob.task == "metrics.always_fails"))
    session.commit()


def test_the_token_is_required_when_set(app: TestClient) -> None:
    token = "metrics-" + uuid.uuid4().hex
    with kefu_env(KEFU_METRICS_TOKEN=token):
        missing = app.get("/metrics")
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"
        assert app.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = app.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "kefu_queue_depth" in ok.text
    assert app.get("/metrics").status_code == 200  # development without a token: open


def test_production_refuses_to_start_without_the_token(tmp_path) -> None:
    secrets = {
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_SECRET_KEY": "x" * 40,
        "KEFU_SERVICE_TOKEN": "y" * 40,
        "RASA_TOKEN": "z" * 40,
        "KEFU_ENCRYPTION_KEY": "Y3J5cHRvZ3JhcGh5LWZlcm5ldC1rZXktMzItYnl0ZXM=",
    }
    for missing in ("", "change-me"):
        with (
            kefu_env(KEFU_ENV="production", KEFU_METRICS_TOKEN=missing, **secrets),
            pytest.raises(ValidationError, match="KEFU_METRICS_TOKEN must be set"),
        ):
            Settings()
    with kefu_env(KEFU_ENV="production", KEFU_METRICS_TOKEN="m" * 40, **secrets):
        assert Settings().metrics_token == "m" * 40


def test_scrape_time_stays_small(app: TestClient) -> None:
    started = time.perf_counter()
    for _ in range(5):
        scrape(app)
    assert (time.perf_counter() - started) / 5 < 0.5  # seconds; the database figures are a few counts
