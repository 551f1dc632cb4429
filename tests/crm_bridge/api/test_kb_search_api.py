"""GET /api/v1/kb/search: service-token protected, answers from the seeded knowledge base."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app_fixtures import SERVICE_TOKEN

AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def test_requires_service_token_or_admin(client: TestClient, agent_client: tuple[TestClient, int]) -> None:
    fresh = TestClient(client.app)
    assert fresh.get("/api/v1/kb/search", params={"q": "refund"}).status_code == 401
    wrong = fresh.get("/api/v1/kb/search", params={"q": "refund"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    agent, _ = agent_client
    forbidden = agent.get("/api/v1/kb/search", params={"q": "refund"})
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"


def test_answers_english_and_chinese(client: TestClient) -> None:
    en = client.get("/api/v1/kb/search", params={"q": "How long does delivery take?"}, headers=AUTH).json()
    assert en["decision"] == "answer"
    assert en["results"][0]["faq_id"] == "en-shipping-01"
    zh = client.get("/api/v1/kb/search", params={"q": "退货需要多久?"}, headers=AUTH).json()
    assert zh["results"][0]["faq_id"] == "zh-returns-01"
    assert zh["decision"] == "answer"
    assert en["took_ms"] >= 0


def test_blank_query_is_422(client: TestClient) -> None:
    assert client.get("/api/v1/kb/search", params={"q": ""}, headers=AUTH).status_code == 422
    assert client.get("/api/v1/kb/search", params={"q": "   "}, headers=AUTH).status_code == 422
