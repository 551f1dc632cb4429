"""KEFU_LOG_FORMAT=json: one JSON object per line with time, level, logger, message and the request and
conversation ids, personal data redacted in the message, the extra fields and tracebacks alike."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kefu_core import logs
from tests.app_fixtures import app_client
from tests.helpers import kefu_env

EMAIL, PHONE = "wang.fang@example.com", "+86 138 0013 8000"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What kefu's root handler writes, for the test; text format and the real stream again afterwards."""
    logs.configure("INFO", "json")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_kefu", False))
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    old = handler.setStream(out)
    try:
        yield out
    finally:
        handler.setStream(old)
        logs.configure("INFO", "text")


def parsed(out: io.StringIO) -> list[dict[str, Any]]:
    """Every line as a JSON object (fails on a line that is not one)."""
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_extras_and_tracebacks_are_redacted_too(captured: io.StringIO) -> None:
    log = logging.getLogger("kefu.test")
    token = logs.REQUEST_ID.set("req-1")
    try:
        with logs.conversation_context("conv-1"):
            log.warning("customer %s wrote", EMAIL, extra={"contact": {"phone": PHONE, "emails": [EMAIL]}})
            try:
                raise ValueError(f"bad address {EMAIL}")
            except ValueError:
                log.exception("failed for %s", PHONE)
    finally:
        logs.REQUEST_ID.reset(token)
    first, second = parsed(captured)
    assert {"time", "level", "logger", "message", "request_id", "conversation_id"} <= set(first)
    assert first["level"] == "WARNING" and first["logger"] == "kefu.test"
    assert first["message"] == "customer [email] wrote"
    assert first["contact"] == {"phone": "[phone]", "emails": ["[email]"]}
    assert (first["request_id"], first["conversation_id"]) == ("req-1", "conv-1")
    assert second["message"] == "failed for [phone]" and "ValueError" in second["exc_info"]
    assert EMAIL not in captured.getvalue() and "138 0013" not in captured.getvalue()


def test_text_stays_the_default() -> None:
    logs.configure("INFO")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_kefu", False))
    assert handler.formatter is not None and handler.formatter._fmt == logs.TEXT_FORMAT


def test_the_app_logs_json_with_request_and_conversation_ids(sqlite_db: str, captured: io.StringIO) -> None:
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    with kefu_env(KEFU_LOG_FORMAT="json"), app_client(sqlite_db) as client:  # its Rasa is a closed port
        captured.truncate(0)
        captured.seek(0)
        body = {"user_id": "json-logs", "text": f"mail me at {EMAIL} or call {PHONE}"}
        response = client.post("/api/v1/chat", json=body, headers={"X-Request-ID": request_id})
        assert response.status_code == 200
        conversation_id = response.json()["conversation_id"]
    lines = parsed(captured)
    access = [line for line in lines if line["logger"] == "kefu.access" and "/api/v1/chat" in line["message"]]
    assert access and access[0]["request_id"] == request_id
    # The turn ran on a job worker thread: its "bot unreachable" line carries the conversation.
    turn_lines = [line for line in lines if line["logger"] == "kefu.turns"]
    assert turn_lines and all(line["conversation_id"] == conversation_id for line in turn_lines)
    text = captured.getvalue()
    assert EMAIL not in text and "138 0013" not in text
