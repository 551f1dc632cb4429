"""Request bodies are refused past their limit while being read, before any route or authentication runs
(issue 22, item 6): before, a 40 MB body to the widget was read whole, then refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.app_fixtures import app_client
from tests.helpers import kefu_env

SMALL_LIMIT = 4096


@pytest.fixture(scope="module")
def limited(db_url: str) -> Iterator[TestClient]:
    """An app with a small body limit, so the tests send kilobytes rather than megabytes."""
    with (
        kefu_env(KEFU_MAX_BODY_BYTES=str(SMALL_LIMIT), KEFU_MAX_IMPORT_BYTES="65536"),
        app_client(db_url) as c,
    ):
        yield c


def _refused(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "payload_too_large" and str(SMALL_LIMIT) in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]


def test_a_declared_length_over_the_limit_is_refused_before_auth(limited: TestClient) -> None:
    body = b'{"text": "' + b"x" * (SMALL_LIMIT * 2) + b'"}'
    _refused(
        limited.post("/api/v1/widget/session", content=body, headers={"content-type": "application/json"})
    )
    # An admin-only route answers 413, not 401: the body is refused before anyone is authenticated.
    _refused(limited.post("/api/v1/contacts", content=body, headers={"content-type": "application/json"}))


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(limited: TestClient) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            sent.append(1024)
            yield b"x" * 1024

    response = limited.post("/api/v1/chat", content=chunks(), headers={"content-type": "application/json"})
    _refused(response)
    assert "content-length" not in response.request.headers


def test_a_body_under_the_limit_is_served_as_before(limited: TestClient) -> None:
    response = limited.post("/api/v1/chat", json={"user_id": "body-limit-ok", "text": "hello"})
    assert response.status_code == 200, response.text
    bad = limited.post("/api/v1/chat", content=b"not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422  # what it was: the limit changes nothing under it


def test_the_knowledge_base_import_has_its_own_larger_limit(limited: TestClient) -> None:
    file = {"file": ("faqs.jsonl", b"x" * (SMALL_LIMIT * 4), "application/jsonl")}
    assert limited.post("/api/v1/kb/import", files=file).status_code == 401  # under its limit: auth decides
    big = {"file": ("faqs.jsonl", b"x" * 70_000, "application/jsonl")}
    response = limited.post("/api/v1/kb/import", files=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_the_defaults_are_one_and_twenty_mebibytes() -> None:
    from kefu_core.settings import Settings

    settings = Settings()
    assert settings.max_body_bytes == 1024 * 1024 and settings.max_import_bytes == 20 * 1024 * 1024
