"""Thin clients from the action server to crm_bridge; they return errors, never raise to Rasa."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx


class ServiceError(Exception):
    """crm_bridge could not be reached or refused the call."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class KbAnswer:
    """The knowledge base's verdict on a question."""

    decision: str
    results: list[dict[str, Any]]


class CrmBridgeClient:
    """Calls crm_bridge's API with the service token (or through an injected, already authorised client)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout_s: float = 5.0,
        http: httpx.Client | None = None,
    ) -> None:
        if http is not None:
            # Tests pass Starlette's TestClient (an httpx.Client) that already carries the token.
            self._http = http
            self.base_url = str(http.base_url).rstrip("/")
            return
        self.base_url = (base_url or os.environ.get("KEFU_API_URL", "http://127.0.0.1:8000")).rstrip("/")
        token = token if token is not None else os.environ.get("KEFU_SERVICE_TOKEN", "")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers={"Authorization": f"Bearer {token}"}
        )

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"{what} failed: {exc}") from exc
        if response.status_code >= 400:
            raise ServiceError(
                f"{what} failed: HTTP {response.status_code}", status_code=response.status_code
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceError(f"{what} failed: not JSON") from exc

    def search_faq(
        self, question: str, language: str, k: int = 3, conversation_id: str | None = None
    ) -> KbAnswer:
        """Ask the knowledge base (a `none` is logged for the admins); raises ServiceError when it cannot."""
        params: dict[str, Any] = {"q": question, "lang": language, "k": k, "log": "true"}
        if conversation_id:
            params["conversation_id"] = conversation_id
        body = self._call("GET", "/api/v1/kb/search", "knowledge base search", params=params)
        try:
            return KbAnswer(decision=body["decision"], results=body["results"])
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"knowledge base search failed: unexpected answer {exc}") from exc

    def get_contact(self, contact_id: int) -> dict[str, Any]:
        """One contact (id, email, phone, tier …)."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/contacts/{contact_id}", "contact lookup")
        return result

    def update_contact(self, contact_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH a contact's fields; a 422 means crm_bridge refused a value."""
        result: dict[str, Any] = self._call(
            "PATCH", f"/api/v1/contacts/{contact_id}", "contact update", json=changes
        )
        return result

    def create_ticket(self, ticket: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Create a ticket; a retry with the same key returns the same ticket."""
        result: dict[str, Any] = self._call(
            "POST",
            "/api/v1/tickets",
            "ticket create",
            json=ticket,
            headers={"Idempotency-Key": idempotency_key},
        )
        return result

    def get_ticket(self, number: str) -> dict[str, Any] | None:
        """A ticket by number, or None when there is none."""
        try:
            result: dict[str, Any] = self._call("GET", f"/api/v1/tickets/{number}", "ticket lookup")
        except ServiceError as exc:
            if exc.status_code == 404:
                return None
            raise
        return result

    def contact_tickets(self, contact_id: int, limit: int = 20) -> list[dict[str, Any]]:
        """A contact's tickets, newest first."""
        body = self._call(
            "GET", "/api/v1/tickets", "ticket list", params={"contact_id": contact_id, "limit": limit}
        )
        items: list[dict[str, Any]] = body.get("items", [])
        return items

    def escalate(self, conversation_id: str, reason: str, note: str | None = None) -> dict[str, Any]:
        """Ask the escalation service for a human (it decides: queued, assigned, offline or declined)."""
        result: dict[str, Any] = self._call(
            "POST",
            f"/api/v1/conversations/{conversation_id}/escalate",
            "escalation",
            json={"reason": reason, "note": note},
        )
        return result

    def create_feedback(self, feedback: dict[str, Any]) -> dict[str, Any]:
        """Store a rating (and optional comment)."""
        result: dict[str, Any] = self._call("POST", "/api/v1/feedback", "feedback", json=feedback)
        return result


_client: CrmBridgeClient | None = None


def crm_bridge() -> CrmBridgeClient:
    """The process's client (one connection pool)."""
    global _client
    if _client is None:
        _client = CrmBridgeClient()
    return _client


def use_client(client: CrmBridgeClient | None) -> None:
    """Replace the process's client (tests inject one bound to an in-process app)."""
    global _client
    _client = client
