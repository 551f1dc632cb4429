"""A small stand-in for Rasa's REST channel, so queue tests control the bot's speed and outages.

It answers as Rasa 3.6's REST channel does: POST /webhooks/rest/webhook with
{"sender", "message", "metadata"} -> [{"recipient_id", "text"}, ...]; GET /status; and
GET /conversations/{sender}/tracker with {"active_loop": {}}. The reply is "echo: <message>" (with two
buttons when the message starts with "buttons").
It records every call and notices two calls for one sender at the same time (turns of a conversation
must never overlap). `down = True` answers 503 (Rasa's nginx/proxy view of a dead server).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kefu.stack import free_port


class FakeRasa:
    """Start with start(), stop with stop(); `calls`, `overlaps` and `down` are for the test."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.down = False
        self.lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []  # (sender, message) in arrival order
        self.active: dict[str, int] = defaultdict(int)
        self.overlaps: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeRasa:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()

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

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._send(*fake._webhook(body))

            def do_GET(self) -> None:
                if fake.down:
                    self._send(503, {"error": "down"})
                elif self.path.startswith("/conversations/"):
                    self._send(200, {"active_loop": {}})
                else:
                    self._send(200, {"model_file": "fake.tar.gz"})

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
