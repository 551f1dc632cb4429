"""A local fake of the WhatsApp Cloud API's send endpoint, because graph.facebook.com cannot be reached
from here.

It follows Meta's documented formats (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/
messages): POST {url}/{phone_number_id}/messages with `Authorization: Bearer <token>` and a JSON body
{"messaging_product": "whatsapp", "to": wa_id, "type": "text", "text": {"body"}} (body 1-4,096
characters) or "type": "interactive" with {"type": "button", "body": {"text"}, "action": {"buttons":
[{"type": "reply", "reply": {"id", "title"}}]}} (1-3 buttons, titles up to 20 characters, unique ids,
body up to 1,024). Success is HTTP 200 {"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid...."}]}; errors are Graph errors {"error": {"message", "type", "code",
"error_data": {"messaging_product", "details"}, "fbtrace_id"}}: a wrong token is 401 code 190
(OAuthException), an unknown phone number id or a bad parameter 400 code 100.
Control: fail_next(count, code, http_status) makes the next sends fail with that Graph error code
(130429 throughput, 131047 re-engagement ...); `sent` records accepted bodies with their wamid and
arrival time, `attempts` every send's time.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

MESSAGES = {
    100: "(#100) Invalid parameter",
    130429: "(#130429) Rate limit hit",
    131047: "(#131047) Re-engagement message",
    131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    190: "Error validating access token: Session has expired",
}
DETAILS = {
    131047: "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number.",
}


def graph_error(code: int, status: int, message: str | None = None) -> Response:
    """A Graph API error answer."""
    error: dict[str, Any] = {
        "message": message or MESSAGES.get(code, f"(#{code}) Error"),
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(8),
    }
    if code in DETAILS:
        error["error_data"] = {"messaging_product": "whatsapp", "details": DETAILS[code]}
    return Response(status, {"error": error})


class FakeWhatsApp(FakeServer):
    """The fake server: start()/stop() run it in a thread; `sent` and `attempts` are for the test."""

    def __init__(self, token: str, phone_number_id: str) -> None:
        super().__init__()
        self.token = token
        self.phone_number_id = phone_number_id
        self.sent: list[dict[str, Any]] = []  # accepted bodies, plus "wamid" and "at" (monotonic)
        self.attempts: list[float] = []
        self.failures: list[tuple[int, int]] = []  # (Graph code, HTTP status) for the next sends
        self._ids = itertools.count(1)

    def fail_next(self, count: int, code: int = 130429, status: int = 400) -> None:
        """The next `count` sends fail with Graph error `code` and HTTP `status`."""
        with self.lock:
            self.failures.extend([(code, status)] * count)

    def to(self, wa_id: str) -> list[dict[str, Any]]:
        """Accepted messages for one customer, in order."""
        with self.lock:
            return [m for m in self.sent if m["to"] == wa_id]

    def texts(self, wa_id: str) -> list[str]:
        """The text (or interactive body) of each accepted message for one customer."""
        return [
            m["text"]["body"] if m["type"] == "text" else m["interactive"]["body"]["text"]
            for m in self.to(wa_id)
        ]

    def _invalid(self, body: dict[str, Any]) -> str | None:
        if body.get("messaging_product") != "whatsapp" or not isinstance(body.get("to"), str):
            return "messaging_product must be whatsapp and `to` is required"
        if body.get("type") == "text":
            text = (body.get("text") or {}).get("body")
            if not isinstance(text, str) or not 0 < len(text) <= 4096:
                return "text.body must be 1-4096 characters"
            return None
        if body.get("type") == "interactive":
            interactive = body.get("interactive") or {}
            text = (interactive.get("body") or {}).get("text")
            buttons = (interactive.get("action") or {}).get("buttons") or []
            if interactive.get("type") != "button" or not isinstance(text, str) or not 0 < len(text) <= 1024:
                return "interactive button body must be 1-1024 characters"
            replies = [b.get("reply") or {} for b in buttons]
            ids = [r.get("id") for r in replies]
            if not 0 < len(buttons) <= 3 or len(set(ids)) != len(ids):
                return "1-3 buttons with unique ids"
            if any(not 0 < len(str(r.get("title") or "")) <= 20 for r in replies):
                return "button titles must be 1-20 characters"
            return None
        return f"unsupported message type {body.get('type')!r}"

    def handle(self, request: Request) -> Response:
        """POST /{phone_number_id}/messages."""
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or len(parts) < 2 or parts[-1] != "messages":
            return graph_error(100, 400, "Unsupported request - method type: get")
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            return graph_error(190, 401, "Invalid OAuth access token - Cannot parse access token")
        if parts[-2] != self.phone_number_id:
            return graph_error(
                100, 400, f"Unsupported post request. Object with ID '{parts[-2]}' does not exist"
            )
        with self.lock:
            self.attempts.append(time.monotonic())
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return graph_error(*failure)
        body = request.json()
        invalid = self._invalid(body if isinstance(body, dict) else {})
        if invalid is not None:
            return graph_error(100, 400, f"(#100) {invalid}")
        wamid = f"wamid.HBgL{next(self._ids):08d}{secrets.token_hex(6).upper()}"
        with self.lock:
            self.sent.append({**body, "wamid": wamid, "at": time.monotonic()})
        return Response(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            },
        )
