"""Sending to Telegram: sendMessage, long texts split at 4,096 characters, quick replies as a reply
keyboard, 429 `retry_after` honoured (through outbound's SendError). The bot token is part of every
URL, so neither URLs nor httpx's request lines are ever logged here."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx

from crm_bridge.channels.outbound import SendError
from crm_bridge.channels.text import split_text
from kefu_core.settings import get_settings

LIMIT = 4096  # Bot API: 1-4096 characters per message text


def _keyboard(buttons: list[dict[str, Any]]) -> dict[str, Any]:
    # A reply keyboard sends the button's title as the customer's next message, which the bot reads
    # like typed text (an inline keyboard's callback data is capped at 64 bytes, too short for payloads).
    return {
        "keyboard": [[{"text": str(b.get("title") or b.get("payload"))[:200]}] for b in buttons],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }


class TelegramSender:
    """Bot API client for one bot."""

    def __init__(self, api_url: str, token: str, http: httpx.Client) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}"
        self._http = http

    def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one Bot API method; the `result`, or SendError with the API's description."""
        try:
            response = self._http.post(f"{self._base}/{method}", json=payload)
        except httpx.HTTPError as exc:
            raise SendError(f"Telegram unreachable: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("ok"):
            result: dict[str, Any] = body.get("result") or {}
            return result
        description = str(body.get("description") or f"HTTP {response.status_code}")[:300]
        reason = f"Telegram {method}: {response.status_code} {description}"
        if response.status_code == 429:
            retry_after = (body.get("parameters") or {}).get("retry_after")
            raise SendError(reason, retry_after=float(retry_after) if retry_after else 1.0)
        # 5xx and 409/420-style hiccups may pass; a refused request (400, 401, 403, 404) will not.
        raise SendError(reason, permanent=response.status_code in (400, 401, 403, 404))

    def send(
        self, *, recipient: str, text: str, buttons: list[dict[str, Any]], skip_parts: int
    ) -> str | None:
        """sendMessage for each part not sent yet (buttons on the last part); the last part's message_id."""
        parts = split_text(text, LIMIT)
        sent: dict[str, Any] = {}
        for index in range(skip_parts, len(parts)):
            payload: dict[str, Any] = {"chat_id": int(recipient), "text": parts[index]}
            if buttons and index == len(parts) - 1:
                payload["reply_markup"] = _keyboard(buttons)
            try:
                sent = self.call("sendMessage", payload)
            except SendError as exc:
                exc.parts_sent = index - skip_parts
                raise
        message_id = sent.get("message_id")
        return str(message_id) if message_id is not None else None


@lru_cache(maxsize=4)
def _http(timeout_s: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_s)


def sender() -> TelegramSender | None:
    """The configured bot's sender, or None when KEFU_TELEGRAM_* are not set."""
    settings = get_settings()
    if not settings.telegram_configured:
        return None
    return TelegramSender(settings.telegram_api_url, settings.telegram_bot_token.strip(), _http(10.0))
