"""A local fake of the Slack Web API's chat.postMessage, because slack.com cannot be reached from here.

It follows the documented Web API formats (https://docs.slack.dev/reference/methods/chat.postMessage):
POST {url}/chat.postMessage with the bot token as `Authorization: Bearer xoxb-...` and a JSON body
{"channel", "text", ...}; answers are HTTP 200 {"ok": true, "channel", "ts", "message": {...}} or HTTP 200
{"ok": false, "error": "<code>"} (not_authed without a token, invalid_auth with a wrong one, no_text,
msg_too_long over 40,000 characters, channel_not_found for a channel id it does not know), and a rate
limit is HTTP 429 with a `Retry-After` header (seconds) and {"ok": false, "error": "ratelimited"}.
Control: fail_next(count, error, retry_after) makes the next calls fail with that error code
("ratelimited" is the 429); `sent` records accepted messages with their arrival time, `attempts`
every call's time.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.fakes.base import FakeServer, Request, Response


class FakeSlack(FakeServer):
    """The fake server: start()/stop() run it in a thread; `sent` and `attempts` are for the test."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.sent: list[dict[str, Any]] = []  # accepted chat.postMessage bodies, plus "at" (monotonic)
        self.attempts: list[float] = []
        self.failures: list[tuple[str, int]] = []  # (error code, retry_after) for the next calls
        self._ts = itertools.count(1)

    def fail_next(self, count: int, error: str = "ratelimited", retry_after: int = 1) -> None:
        """The next `count` chat.postMessage calls fail with `error` ("ratelimited": HTTP 429)."""
        with self.lock:
            self.failures.extend([(error, retry_after)] * count)

    def texts(self, channel: str) -> list[str]:
        """Texts accepted for one channel, in order."""
        with self.lock:
            return [m["text"] for m in self.sent if m["channel"] == channel]

    def _post_message(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return Response(200, {"ok": False, "error": "not_authed"})
        if auth.removeprefix("Bearer ") != self.token:
            return Response(200, {"ok": False, "error": "invalid_auth"})
        with self.lock:
            self.attempts.append(time.monotonic())
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            error, retry_after = failure
            if error == "ratelimited":
                return Response(429, {"ok": False, "error": error}, headers={"Retry-After": str(retry_after)})
            return Response(200, {"ok": False, "error": error})
        body = request.json()
        channel, text = body.get("channel"), body.get("text")
        if not isinstance(text, str) or not text.strip():
            return Response(200, {"ok": False, "error": "no_text"})
        if len(text) > 40000:
            return Response(200, {"ok": False, "error": "msg_too_long"})
        if not isinstance(channel, str) or channel[:1] not in ("C", "D", "G", "U"):
            return Response(200, {"ok": False, "error": "channel_not_found"})
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        with self.lock:
            self.sent.append({**body, "at": time.monotonic()})
        message = {"type": "message", "bot_id": "B0FAKEBOT", "user": "U0FAKEBOT", "text": text, "ts": ts}
        return Response(200, {"ok": True, "channel": channel, "ts": ts, "message": message})

    def handle(self, request: Request) -> Response:
        """POST /chat.postMessage; any other method is Slack's unknown_method."""
        if request.method == "POST" and request.path.rstrip("/").endswith("/chat.postMessage"):
            return self._post_message(request)
        return Response(200, {"ok": False, "error": "unknown_method"})
