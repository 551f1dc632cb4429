"""A local fake of the Telegram Bot API, because api.telegram.org cannot be reached from here.

It follows the documented Bot API formats (https://core.telegram.org/bots/api): methods are
POST {url}/bot<token>/<method> with a JSON body; answers are {"ok": true, "result": ...} or
{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": S}} (429);
sendMessage refuses an empty text or one over 4,096 UTF-16 units ("Bad Request: message is too long"),
an unknown token is 401 "Unauthorized", setWebhook records its url and secret_token.
Control: fail_next(count, code, retry_after) makes the next sendMessage calls fail; `sent` records
the accepted messages with their arrival time.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
}


class FakeTelegram(FakeServer):
    """The fake server: start()/stop() run it in a thread; `sent`, `attempts`, `webhook` are for the test."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.sent: list[dict[str, Any]] = []  # accepted sendMessage bodies, plus "at" (monotonic)
        self.attempts: list[float] = []  # every sendMessage call's time, accepted or not
        self.failures: list[tuple[int, int]] = []  # (error code, retry_after) for the next calls
        self.webhook: dict[str, Any] = {}
        self._ids = itertools.count(1)

    def fail_next(self, count: int, code: int = 429, retry_after: int = 1) -> None:
        """The next `count` sendMessage calls fail with `code` (429 carries retry_after)."""
        with self.lock:
            self.failures.extend([(code, retry_after)] * count)

    def texts(self, chat_id: int) -> list[str]:
        """Texts accepted for one chat, in order."""
        with self.lock:
            return [m["text"] for m in self.sent if m["chat_id"] == chat_id]

    def _method(self, token: str, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "setWebhook":
            with self.lock:
                self.webhook = body
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if method != "sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        with self.lock:
            self.attempts.append(time.monotonic())
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            code, retry_after = failure
            answer: dict[str, Any] = {
                "ok": False,
                "error_code": code,
                "description": DESCRIPTIONS.get(code, "Error").format(retry_after=retry_after),
            }
            if code == 429:
                answer["parameters"] = {"retry_after": retry_after}
            return code, answer
        text = body.get("text")
        if not isinstance(body.get("chat_id"), int | str):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
        if not isinstance(text, str) or not text:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        with self.lock:
            message_id = next(self._ids)
            self.sent.append({**body, "at": time.monotonic()})
        result = {
            "message_id": message_id,
            "chat": {"id": body["chat_id"], "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        return 200, {"ok": True, "result": result}

    def handle(self, request: Request) -> Response:
        """POST /bot<token>/<method> with a JSON body."""
        _, bot, method = [*request.path.split("/", 2), "", ""][:3]
        body = request.json()
        return Response(
            *self._method(bot.removeprefix("bot"), method, body if isinstance(body, dict) else {})
        )
