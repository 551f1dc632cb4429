"""Sending to Slack: chat.postMessage into the customer's DM with the app, long texts split, quick
replies as text lines. Slack answers HTTP 200 with {"ok": false, "error": ...} for most errors: transient
ones and 429 (its Retry-After header honoured) are retried, the rest fail at once with Slack's code.
The bot token travels only in the Authorization header and is never logged."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx

from crm_bridge.channels.outbound import SendError
from crm_bridge.channels.text import split_text
from kefu_core.settings import get_settings

# Slack truncates a text at 40,000 characters and advises at most 4,000 per message.
LIMIT = 4000
# Errors Slack documents as passing (its side or a rate limit); every other error code is final
# (invalid_auth, token_revoked, channel_not_found, not_in_channel, is_archived, missing_scope ...).
TRANSIENT = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def escape(text: str) -> str:
    """Slack reads `&`, `<` and `>` as markup: the three must be escaped in a message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def with_buttons(text: str, buttons: list[dict[str, Any]]) -> str:
    """Quick replies as text lines under the message: the customer types (or copies) one back, which the
    bot reads like any text (Block Kit buttons would need Slack's separate interactivity endpoint)."""
    titles = [str(b.get("title") or b.get("payload") or "").strip() for b in buttons]
    lines = [f"• {title}" for title in titles if title]
    return f"{text}\n\n" + "\n".join(lines) if lines else text


class SlackSender:
    """Web API client for one bot token."""

    def __init__(self, api_url: str, token: str, http: httpx.Client) -> None:
        self._base = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = http

    def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one Web API method as JSON; its answer, or SendError with Slack's error code."""
        try:
            response = self._http.post(f"{self._base}/{method}", json=payload, headers=self._headers)
        except httpx.HTTPError as exc:
            raise SendError(f"Slack unreachable: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return body
        error = str(body.get("error") or f"HTTP {response.status_code}")[:200]
        reason = f"Slack {method}: {error}"
        if response.status_code == 429 or error in ("ratelimited", "rate_limited"):
            retry_after = response.headers.get("Retry-After", "")
            raise SendError(reason, retry_after=float(retry_after) if retry_after.isdigit() else 1.0)
        if response.status_code >= 500 or error in TRANSIENT:
            raise SendError(reason)
        raise SendError(reason, permanent=True)

    def send(
        self, *, recipient: str, text: str, buttons: list[dict[str, Any]], skip_parts: int
    ) -> str | None:
        """chat.postMessage for each part not sent yet (the button lines end the last part); its `ts`."""
        parts = [escape(part) for part in split_text(with_buttons(text, buttons), LIMIT)]
        sent: dict[str, Any] = {}
        for index in range(skip_parts, len(parts)):
            try:
                sent = self.call("chat.postMessage", {"channel": recipient, "text": parts[index]})
            except SendError as exc:
                exc.parts_sent = index - skip_parts
                raise
        ts = sent.get("ts")
        return str(ts) if ts else None


@lru_cache(maxsize=4)
def _http(timeout_s: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_s)


def sender() -> SlackSender | None:
    """The configured app's sender, or None when KEFU_SLACK_* are not set."""
    settings = get_settings()
    if not settings.slack_configured:
        return None
    return SlackSender(settings.slack_api_url, settings.slack_bot_token.strip(), _http(10.0))
