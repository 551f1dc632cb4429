"""Simulated customers for the cluster test: one conversation of two turns over the widget's WebSocket,
the REST chat API, Telegram's webhook or Slack's Events API, spread over both crm_bridge workers. A send
is retried (the same message id, on the other worker) until a worker acknowledges it, as a platform
redelivers and the widget resends: the harness checks kefu stores each message once all the same."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import httpx
from slack_sdk.signature import SignatureVerifier
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

TELEGRAM_TOKEN = "123456:CLUSTER-telegram-token"
TELEGRAM_SECRET = "cluster-webhook-secret-0123456789"
SLACK_TOKEN = "xoxb-cluster-slack-token-not-real"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNELS = ("widget", "api", "telegram", "slack")
GIVE_UP_S = 120.0  # a send no worker acknowledged for this long is lost (the test fails)


@dataclass
class Customer:
    """One conversation: its channel, its id on that channel and its two messages."""

    n: int
    channel: str
    widget_token: str = ""

    @property
    def user(self) -> str:
        """The customer's id on the channel (the REST user_id, Slack DM channel, Telegram chat)."""
        return {"slack": f"D{9_000_000 + self.n:09d}", "telegram": str(8_000_000 + self.n)}.get(
            self.channel, f"cluster-{self.n:03d}"
        )

    def text(self, turn: int) -> str:
        """A unique text per turn (the checks find each stored message by it)."""
        if turn == 1:
            return f"Hello, this is customer {self.n:03d}"
        return f"How long does delivery take? (customer {self.n:03d})"


def _telegram(customer: Customer, turn: int, text: str) -> tuple[str, dict[str, str], bytes]:
    chat = int(customer.user)
    update_id = chat * 10 + turn
    sender = {"id": chat, "is_bot": False, "first_name": "Cluster", "language_code": "en"}
    body = {
        "update_id": update_id,
        "message": {"message_id": turn, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
                    "from": sender, "text": text},
    }  # fmt: skip
    return (
        "/webhooks/telegram",
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        json.dumps(body).encode(),
    )


def _slack(customer: Customer, turn: int, text: str) -> tuple[str, dict[str, str], bytes]:
    ts = f"{time.time():.6f}"
    event = {"type": "message", "channel": customer.user, "user": f"U{customer.user[1:]}", "ts": ts,
             "event_ts": ts, "channel_type": "im", "team": "T0KEFU", "text": text}  # fmt: skip
    body = {
        "token": "legacy", "team_id": "T0KEFU", "api_app_id": "A0KEFU", "event": event,
        "type": "event_callback",
        "event_id": f"EvCluster{customer.n:04d}{turn}", "event_time": int(time.time()),
    }  # fmt: skip
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=stamp, body=raw) or ""
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }
    return "/webhooks/slack/events", headers, raw


def _post_once(base: str, customer: Customer, turn: int) -> bool:
    text = customer.text(turn)
    if customer.channel == "api":
        body = {"user_id": customer.user, "text": text, "message_id": f"cluster-{customer.n}-{turn}"}
        response = httpx.post(f"{base}/api/v1/chat", json=body, timeout=30)
        return response.status_code == 200
    if customer.channel == "widget":
        return _widget_once(base, customer, turn, text)
    path, headers, raw = (_telegram if customer.channel == "telegram" else _slack)(customer, turn, text)
    return httpx.post(f"{base}{path}", content=raw, headers=headers, timeout=15).status_code == 200


def _widget_once(base: str, customer: Customer, turn: int, text: str) -> bool:
    if not customer.widget_token:
        response = httpx.post(f"{base}/api/v1/widget/session", json={"token": None}, timeout=15)
        if response.status_code != 200:
            return False
        customer.widget_token = response.json()["token"]
    url = f"{base.replace('http', 'ws', 1)}/api/v1/widget/ws?token={customer.widget_token}"
    client_id = f"cluster-{customer.n}-{turn}"
    with connect(url, open_timeout=10, close_timeout=2) as ws:
        json.loads(ws.recv(timeout=10))  # hello
        ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            frame = json.loads(ws.recv(timeout=15))
            if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                return True
    return False


def send(api_urls: list[str], customer: Customer, turn: int) -> int:
    """Send one customer message until a worker acknowledges it, starting on the customer's own worker
    and alternating; -> how many tries it took (raises after GIVE_UP_S)."""
    deadline = time.monotonic() + GIVE_UP_S
    tries = 0
    while True:
        base = api_urls[(customer.n + tries) % len(api_urls)]
        tries += 1
        try:
            if _post_once(base, customer, turn):
                return tries
        except (httpx.HTTPError, OSError, TimeoutError, ValueError, KeyError, WebSocketException):
            pass  # the worker died mid-request, or its socket closed: the other one takes the resend
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"customer {customer.n} turn {turn}: no worker acknowledged for {GIVE_UP_S:.0f} s"
            )
        time.sleep(0.5)


def customers(count: int) -> list[Customer]:
    """`count` customers spread evenly over the four channels."""
    return [Customer(n, CHANNELS[n % len(CHANNELS)]) for n in range(count)]


def run_id() -> str:
    """A short id for this run's folders."""
    return uuid.uuid4().hex[:8]
