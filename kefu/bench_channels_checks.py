"""Telegram updates for the channels benchmark, and the ledger that finds lost or duplicated replies by
comparing the database (turns, replies, deliveries) with what the fake Bot API received."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.conversations.models import Message
from crm_bridge.turns.models import Turn, TurnStatus
from kefu.benchlib import latency_summary
from kefu_core.db import make_engine


def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """A private-chat text message as Telegram posts it to a webhook."""
    sender = {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1_000_000,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": sender,
            "text": text,
        },
    }


def post_updates(
    client: httpx.Client, secret: str, updates: list[dict[str, Any]], *, twice: bool = False
) -> dict[int, float]:
    """POST each update (twice, as a platform's redelivery, when asked); chat id -> when it was sent."""
    sent: dict[int, float] = {}
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    for body in updates:
        sent.setdefault(body["message"]["chat"]["id"], time.monotonic())
        for _ in range(2 if twice else 1):
            client.post("/webhooks/telegram", json=body, headers=headers).raise_for_status()
    return sent


def _deliveries(session: Session, replies_to: list[int], *statuses: DeliveryStatus) -> int:
    """How many deliveries of the replies to these customer messages are in one of `statuses`."""
    stmt = (
        select(func.count())
        .select_from(Delivery)
        .join(Message, Message.id == Delivery.message_id)
        .where(Message.reply_to_id.in_(replies_to), Delivery.status.in_(statuses))
    )
    return int(session.scalar(stmt) or 0)


class ReplyLedger:
    """What the fake platform received, held against what kefu stored."""

    def __init__(self, api: str, telegram: Any) -> None:
        self.api = api
        self.telegram = telegram

    def first_replies(self, sent: dict[int, float], *, timeout_s: float) -> list[float]:
        """Milliseconds from each chat's webhook to its first reply after it (missing chats are left out)."""
        deadline = time.monotonic() + timeout_s
        found: dict[int, float] = {}
        while len(found) < len(sent) and time.monotonic() < deadline:
            with self.telegram.lock:
                for message in self.telegram.sent:
                    chat = message["chat_id"]
                    if chat in sent and chat not in found and message["at"] >= sent[chat]:
                        found[chat] = (message["at"] - sent[chat]) * 1000
            time.sleep(0.05)
        self.missing = getattr(self, "missing", 0) + len(sent) - len(found)
        return list(found.values())

    def summary(self, latencies: list[float]) -> dict[str, Any]:
        """Latency percentiles and how many chats got no reply in time."""
        return {
            "replies": len(latencies),
            "missing": getattr(self, "missing", 0),
            "latency_ms": latency_summary(latencies),
        }

    def check(self, stack: Any, batch: list[dict[str, Any]], *, timeout_s: float) -> dict[str, Any]:
        """Wait until every turn of `batch` is finished and its deliveries are out; count the messages with
        no reply (lost) and the sends beyond the stored replies (duplicated)."""
        engine = make_engine(stack.services[1].env["DATABASE_URL"])
        platform_ids = [str(u["update_id"]) for u in batch]
        chats = {u["message"]["chat"]["id"] for u in batch}
        deadline = time.monotonic() + timeout_s
        try:
            with Session(engine) as session:
                while time.monotonic() < deadline:
                    session.expire_all()
                    waiting = session.scalar(
                        select(func.count())
                        .select_from(Turn)
                        .where(
                            Turn.channel == "telegram",
                            Turn.platform_id.in_(platform_ids),
                            Turn.status == TurnStatus.pending,
                        )
                    )
                    queued = session.scalar(
                        select(func.count())
                        .select_from(Delivery)
                        .join(Message, Message.id == Delivery.message_id)
                        .join(Turn, Turn.message_id == Message.reply_to_id)
                        .where(Turn.platform_id.in_(platform_ids), Delivery.status == DeliveryStatus.queued)
                    )
                    if not waiting and not queued:
                        break
                    time.sleep(1.0)
                turns = session.scalars(
                    select(Turn).where(Turn.channel == "telegram", Turn.platform_id.in_(platform_ids))
                ).all()
                answered = set(
                    session.scalars(
                        select(Message.reply_to_id).where(
                            Message.reply_to_id.in_([t.message_id for t in turns])
                        )
                    )
                )
                replies_to = [t.message_id for t in turns]
                sent_rows = _deliveries(session, replies_to, DeliveryStatus.sent, DeliveryStatus.delivered)
                failed = _deliveries(session, replies_to, DeliveryStatus.failed)
        finally:
            engine.dispose()
        with self.telegram.lock:
            received = sum(1 for m in self.telegram.sent if m["chat_id"] in chats)
        stored = len(turns)
        # Lost: never stored, never answered, or answered but the answer never reached the platform.
        lost = (len(platform_ids) - stored) + sum(1 for t in turns if t.message_id not in answered) + failed
        return {
            "messages": len(platform_ids),
            "stored": stored,
            "answered": len(answered),
            "unavailable": sum(1 for t in turns if t.status is TurnStatus.unavailable),
            "lost": lost,
            "replies_sent": sent_rows,
            "replies_failed": failed,
            "replies_received": received,
            "duplicated": max(0, received - sent_rows),
        }
