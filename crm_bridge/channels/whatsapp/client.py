"""Sending to WhatsApp: POST {api}/{phone_number_id}/messages (Graph API, Bearer token), texts split at
4,096 characters, up to three short quick replies as reply buttons. Graph errors are
{"error": {"message", "type", "code", "error_data": {"details"}}}: throughput limits, HTTP 429 and
Meta's transient errors are retried; the 24-hour window (131047), auth and request errors are final.
The access token travels only in the Authorization header and is never logged."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx

from crm_bridge.channels.outbound import SendError
from crm_bridge.channels.text import split_text
from crm_bridge.channels.whatsapp.parse import obj
from kefu_core.settings import get_settings

LIMIT = 4096  # a text message's body
BUTTON_BODY = 1024  # an interactive message's body
MAX_BUTTONS, BUTTON_TITLE = 3, 20
# 130429 throughput, 131056 pair rate limit, 4 / 80007 app and account rate limits,
# 131000 "something went wrong", 131016 service unavailable, 1 / 2 API errors on Meta's side.
RETRY_CODES = frozenset({130429, 131056, 4, 80007, 131000, 131016, 1, 2})
WINDOW_CLOSED = 131047
AUTH_CODES = frozenset({0, 10, 190})  # token invalid or expired, permission missing


def buttons_fit(text: str, buttons: list[dict[str, Any]]) -> bool:
    """Whether the quick replies can go as reply buttons (WhatsApp: 1-3 buttons, titles up to 20
    characters, a body up to 1,024); otherwise they go as text lines."""
    titles = [str(b.get("title") or "").strip() for b in buttons]
    return (
        0 < len(titles) <= MAX_BUTTONS
        and all(0 < len(t) <= BUTTON_TITLE for t in titles)
        and len(set(titles)) == len(titles)
        and 0 < len(text) <= BUTTON_BODY
    )


def _text_lines(text: str, buttons: list[dict[str, Any]]) -> str:
    titles = [str(b.get("title") or b.get("payload") or "").strip() for b in buttons]
    lines = [f"• {title}" for title in titles if title]
    return f"{text}\n\n" + "\n".join(lines) if lines else text


def _interactive(text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    # The customer's tap comes back as an interactive button_reply with the title, read as typed text.
    replies = [
        {"type": "reply", "reply": {"id": f"kefu-{index}", "title": str(b.get("title")).strip()}}
        for index, b in enumerate(buttons)
    ]
    return {"type": "button", "body": {"text": text}, "action": {"buttons": replies}}


def _reason(error: dict[str, Any], status: int) -> str:
    code = error.get("code")
    data = obj(error.get("error_data"))
    text = str(data.get("details") or error.get("message") or f"HTTP {status}")[:300]
    if code == WINDOW_CLOSED:
        return (
            "WhatsApp 131047: outside the 24-hour customer service window (the customer has not written "
            "for more than 24 hours; only template messages may be sent, which kefu does not support)"
        )
    if code in AUTH_CODES or status == 401:
        return f"WhatsApp {code}: the access token was refused ({text})"
    return f"WhatsApp {code if code is not None else status}: {text}"


class WhatsAppSender:
    """Cloud API client for one business phone number."""

    def __init__(self, api_url: str, phone_number_id: str, token: str, http: httpx.Client) -> None:
        self._url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = http

    def post(self, payload: dict[str, Any]) -> str | None:
        """POST one message; its wamid, or SendError with the Graph error."""
        try:
            response = self._http.post(self._url, json=payload, headers=self._headers)
        except httpx.HTTPError as exc:
            raise SendError(f"WhatsApp unreachable: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = obj(body)
        if response.status_code == 200 and isinstance(body.get("messages"), list):
            first = body["messages"][0] if body["messages"] else {}
            return str(first.get("id")) if isinstance(first, dict) and first.get("id") else None
        error = obj(body.get("error"))
        reason = _reason(error, response.status_code)
        if response.status_code == 429 or error.get("code") in RETRY_CODES:
            retry_after = response.headers.get("Retry-After", "")
            raise SendError(reason, retry_after=float(retry_after) if retry_after.isdigit() else None)
        if response.status_code >= 500 or (not error and response.status_code != 200):
            raise SendError(reason)  # Meta's side, or no Graph error to judge by
        raise SendError(reason, permanent=True)

    def send(
        self, *, recipient: str, text: str, buttons: list[dict[str, Any]], skip_parts: int
    ) -> str | None:
        """Each part not sent yet (quick replies on the last part); the last part's wamid."""
        as_buttons = bool(buttons) and buttons_fit(split_text(text, LIMIT)[-1], buttons)
        parts = split_text(text if as_buttons or not buttons else _text_lines(text, buttons), LIMIT)
        wamid = None
        for index in range(skip_parts, len(parts)):
            payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
            payload["to"] = recipient
            if as_buttons and index == len(parts) - 1:
                payload |= {"type": "interactive", "interactive": _interactive(parts[index], buttons)}
            else:
                payload |= {"type": "text", "text": {"body": parts[index], "preview_url": False}}
            try:
                wamid = self.post(payload)
            except SendError as exc:
                exc.parts_sent = index - skip_parts
                raise
        return wamid


@lru_cache(maxsize=4)
def _http(timeout_s: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_s)


def sender() -> WhatsAppSender | None:
    """The configured number's sender, or None when KEFU_WHATSAPP_* are not set."""
    settings = get_settings()
    if not settings.whatsapp_configured:
        return None
    return WhatsAppSender(
        settings.whatsapp_api_url,
        settings.whatsapp_phone_number_id.strip(),
        settings.whatsapp_access_token.strip(),
        _http(10.0),
    )
