"""Thin clients from the action server to crm_bridge; they return errors, never raise to Rasa."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx


class ServiceError(Exception):
    """crm_bridge could not be reached or refused the call."""


@dataclass(frozen=True)
class KbAnswer:
    """The knowledge base's verdict on a question."""

    decision: str
    results: list[dict[str, Any]]


class CrmBridgeClient:
    """Calls crm_bridge's API with the service token."""

    def __init__(self, base_url: str | None = None, token: str | None = None, timeout_s: float = 5.0) -> None:
        self.base_url = (base_url or os.environ.get("KEFU_API_URL", "http://127.0.0.1:8000")).rstrip("/")
        token = token if token is not None else os.environ.get("KEFU_SERVICE_TOKEN", "")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers={"Authorization": f"Bearer {token}"}
        )

    def search_faq(
        self, question: str, language: str, k: int = 3, conversation_id: str | None = None
    ) -> KbAnswer:
        """Ask the knowledge base (a `none` is logged for the admins); raises ServiceError when it cannot."""
        params: dict[str, Any] = {"q": question, "lang": language, "k": k, "log": "true"}
        if conversation_id:
            params["conversation_id"] = conversation_id
        try:
            response = self._http.get("/api/v1/kb/search", params=params)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceError(f"knowledge base search failed: {exc}") from exc
        return KbAnswer(decision=body["decision"], results=body["results"])


_client: CrmBridgeClient | None = None


def crm_bridge() -> CrmBridgeClient:
    """The process's client (one connection pool)."""
    global _client
    if _client is None:
        _client = CrmBridgeClient()
    return _client
