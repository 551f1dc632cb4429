"""Talks to Rasa's REST channel (Rasa runs in its own environment and process)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from kefu_core.settings import get_settings
from kefu_core.signing import with_signature


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


@dataclass(frozen=True)
class BotReply:
    """One message the bot wants to send."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def auth_headers(token: str | None = None) -> dict[str, str]:
    """The header every call to Rasa carries (RASA_TOKEN; none when no token is set)."""
    token = get_settings().rasa_token if token is None else token
    # A header, not Rasa's ?token=: query strings end up in access logs.
    return {"Authorization": f"Bearer {token}"} if token else {}


class RasaClient:
    """A pooled HTTP client for `POST /webhooks/rest/webhook`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 15.0,
        token: str | None = None,
        signing_key: str | None = None,
    ) -> None:
        settings = get_settings()
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = auth_headers(token)
        self._signing_key = settings.service_token if signing_key is None else signing_key
        self._http = self._client()

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self._base_url, timeout=self._timeout_s, headers=self._headers)

    @property
    def http(self) -> httpx.Client:
        """The pooled client, reopened if an earlier shutdown closed it (an app can start more than once)."""
        if self._http.is_closed:
            self._http = self._client()
        return self._http

    def send(self, *, sender: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        """Deliver a customer message (its ids signed for the actions) and return the bot's replies."""
        try:
            response = self.http.post(
                "/webhooks/rest/webhook",
                json={
                    "sender": sender,
                    "message": text,
                    "metadata": with_signature(self._signing_key, sender, metadata),
                },
            )
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc
        replies = []
        for item in payload if isinstance(payload, list) else []:
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in item.get("buttons") or []
            ]
            text_out = item.get("text") or ""
            if text_out or buttons:
                replies.append(BotReply(text=text_out, buttons=buttons))
        return replies

    def active_loop(self, sender: str) -> str | None:
        """The form the bot is filling with this sender (None when none, or when Rasa cannot say)."""
        try:
            response = self.http.get(
                f"/conversations/{sender}/tracker", params={"include_events": "NONE"}, timeout=3.0
            )
            response.raise_for_status()
            loop = (response.json().get("active_loop") or {}).get("name")
        except (httpx.HTTPError, ValueError, AttributeError):
            return None  # unknown counts as "not in a form": the trigger then fires as configured
        return str(loop) if loop else None

    def ping(self) -> dict[str, Any]:
        """Rasa's /status (model loaded and serving)."""
        response = self.http.get("/status", timeout=3.0)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()
