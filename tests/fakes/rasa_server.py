"""A small stand-in for Rasa's REST channel, so queue tests control the bot's speed and outages.

It answers as Rasa 3.6's REST channel does: POST /webhooks/rest/webhook with
{"sender", "message", "metadata"} -> [{"recipient_id", "text"}, ...]; GET /status; and
GET /conversations/{sender}/tracker with {"active_loop": {}}. The reply is "echo: <message>" (with two
buttons when the message starts with "buttons").
It records every call and notices two calls for one sender at the same time (turns of a conversation
must never overlap). `down = True` answers 503 (Rasa's nginx/proxy view of a dead server).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from tests.fakes.base import FakeServer, Request, Response


class FakeRasa(FakeServer):
    """Start with start(), stop with stop(); `calls`, `overlaps` and `down` are for the test."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.down = False
        self.calls: list[tuple[str, str]] = []  # (sender, message) in arrival order
        self.active: dict[str, int] = defaultdict(int)
        self.overlaps: list[str] = []

    def messages(self, sender: str) -> list[str]:
        """The messages the bot received from `sender`, in order."""
        with self.lock:
            return [message for who, message in self.calls if who == sender]

    def _webhook(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.down:
            return 503, {"error": "down"}
        sender, message = str(body["sender"]), str(body["message"])
        with self.lock:
            self.calls.append((sender, message))
            self.active[sender] += 1
            if self.active[sender] > 1:
                self.overlaps.append(sender)
        try:
            time.sleep(self.delay_s)
        finally:
            with self.lock:
                self.active[sender] -= 1
        reply: dict[str, Any] = {"recipient_id": sender, "text": f"echo: {message}"}
        if message.startswith("buttons"):  # a reply with quick replies, as Rasa sends them
            reply["buttons"] = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
        return 200, [reply]

    def handle(self, request: Request) -> Response:
        """The REST webhook (POST), status and tracker (GET)."""
        if request.method == "POST":
            return Response(*self._webhook(request.json()))
        if self.down:
            return Response(503, {"error": "down"})
        if request.path.startswith("/conversations/"):
            return Response(200, {"active_loop": {}})
        return Response(200, {"model_file": "fake.tar.gz"})
