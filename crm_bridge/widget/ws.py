"""The widget WebSocket: acknowledged, idempotent customer messages, resume after an id, live events.

Nothing is lost or doubled: the socket subscribes to the customer's events BEFORE it reads the
database, replays from the database on `resume`, and never sends the same message id twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy import select

from crm_bridge.chat import queued
from crm_bridge.chat.schemas import ChatRequest
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, ConversationStatus
from crm_bridge.feedback import service as feedback
from crm_bridge.feedback.models import Feedback
from crm_bridge.observability.metrics import websocket_closed, websocket_opened
from crm_bridge.ratelimit import FrameBudget, SlidingWindow
from crm_bridge.realtime.bus import Bus, relay
from crm_bridge.realtime.events import AGENTS, contact_channel, message_object
from crm_bridge.turns.tasks import enqueue
from crm_bridge.widget import sessions
from kefu_core.db import get_sessionmaker
from kefu_core.errors import Invalid, TooManyRequests
from kefu_core.settings import get_settings

router = APIRouter()
UNAUTHORIZED = 4401
MAX_TEXT = 4000


def _verify(token: str | None) -> tuple[str, int] | None:
    with get_sessionmaker()() as session:
        widget = sessions.verify(session, token)
        return (widget.id, widget.contact_id) if widget else None


def _hello(contact_id: int) -> dict[str, Any]:
    with get_sessionmaker()() as session:
        conversation = sessions.latest_conversation(session, contact_id)
        return {
            "type": "hello",
            "conversation_id": conversation.id if conversation else None,
            "status": conversation.status.value if conversation else "bot",
        }


def _replay(contact_id: int, after: int) -> list[dict[str, Any]]:
    with get_sessionmaker()() as session:
        ids = session.scalars(
            select(Conversation.id).where(
                Conversation.contact_id == contact_id, Conversation.channel == sessions.CHANNEL
            )
        ).all()
        out: list[dict[str, Any]] = []
        for conversation_id in ids:
            out += [
                {**message_object(m), "conversation_id": conversation_id}
                for m in conversations.messages_after(session, conversation_id, after)
            ]
        return sorted(out, key=lambda m: m["id"])


def _typing_target(contact_id: int) -> dict[str, Any] | None:
    with get_sessionmaker()() as session:
        conversation = sessions.latest_conversation(session, contact_id)
        if conversation is None or conversation.status not in (
            ConversationStatus.queued,
            ConversationStatus.agent,
        ):
            return None
        return {"conversation_id": conversation.id, "_assignee_id": conversation.assignee_id}


def _rate(contact_id: int, rating: int, comment: str | None) -> None:
    with get_sessionmaker()() as session:
        conversation = sessions.latest_conversation(session, contact_id)
        if conversation is None:
            raise Invalid("there is no conversation to rate yet")
        already = session.scalars(
            select(Feedback.id).where(Feedback.conversation_id == conversation.id)
        ).first()
        if already is None:  # a resent rating is not counted twice
            feedback.create(
                session,
                data={
                    "rating": rating,
                    "comment": comment,
                    "conversation_id": conversation.id,
                    "agent_id": conversation.assignee_id,
                },
            )
            session.commit()


class WidgetSocket:
    """One connected browser tab."""

    def __init__(self, ws: WebSocket, bus: Bus, session_id: str, contact_id: int) -> None:
        self.ws = ws
        self.bus = bus
        self.session_id = session_id
        self.contact_id = contact_id
        self.sent: set[int] = set()
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame; a message id already sent on this socket is skipped."""
        if frame.get("type") == "message":
            if frame["id"] in self.sent:
                return
            self.sent.add(frame["id"])
        async with self.lock:
            await self.ws.send_text(json.dumps(frame, ensure_ascii=False, default=str))
        if frame.get("type") == "session_revoked":
            # The contact was erased (crm_bridge/erasure): its sessions are gone, and so is this socket.
            await self.ws.close(code=UNAUTHORIZED, reason="the session was revoked")

    async def error(self, code: str, message: str) -> None:
        """Tell the browser what was wrong with its frame."""
        await self.send({"type": "error", "code": code, "message": message})

    async def pump(self, subscription: Any) -> None:
        """Forward live events for this customer; too far behind, the socket is closed and the browser
        reconnects and resumes from the database."""
        await relay(subscription, self.send, _visible)
        await self.ws.close(code=1013)

    async def handle(self, frame: dict[str, Any]) -> None:
        """One client frame."""
        kind = frame.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "message":
            await self.on_message(frame)
        elif kind == "resume":
            after = frame.get("after")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self.error("invalid_resume", "after must be a message id (an integer >= 0)")
                return
            for message in await run_in_threadpool(_replay, self.contact_id, after):
                await self.send({"type": "message", **message})
        elif kind == "typing":
            target = await run_in_threadpool(_typing_target, self.contact_id)
            if target is not None:
                await self.bus.publish(
                    AGENTS, {"type": "typing", **target, "typing": bool(frame.get("typing"))}
                )
        elif kind == "rating":
            await self.on_rating(frame)
        else:
            await self.error("unknown_type", f"unknown frame type {kind!r}")

    async def on_message(self, frame: dict[str, Any]) -> None:
        """Store (once per client_id), ack, and let the bot answer unless a human owns the chat."""
        client_id, text = frame.get("client_id"), frame.get("text")
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64:
            await self.error("invalid_message", "client_id must be a string of 1 to 64 characters")
            return
        try:
            request = ChatRequest(user_id=self.session_id, text=text if isinstance(text, str) else "")
        except ValidationError as exc:
            await self.error("invalid_message", "; ".join(str(e["msg"]) for e in exc.errors()))
            return
        request = request.model_copy(update={"channel": sessions.CHANNEL})
        limiter: SlidingWindow = self.ws.app.state.customer_rate
        try:
            limiter.check(f"{sessions.CHANNEL}:{self.session_id}", "messages", "this chat")
        except TooManyRequests as exc:  # not stored: the widget keeps it pending and may resend it later
            retry = exc.details.get("retry_after_s") if isinstance(exc.details, dict) else None
            frame = {"type": "error", "code": "rate_limited", "message": exc.message, "retry_after_s": retry}
            await self.send({**frame, "client_id": client_id})
            return
        received = await run_in_threadpool(queued.receive, request, client_id=client_id, queue=False)
        if not received.duplicate:  # a resend's turn is queued or answered already
            # The replies come on the bus (the pump); the turn's end turns the bot's typing off.
            await self.send({"type": "typing", "role": "bot", "typing": True})
        # conversation_id is an extra field: the widget learns its (new) conversation from the ack.
        await self.send(
            {
                "type": "ack",
                "client_id": client_id,
                "id": received.message_id,
                "conversation_id": received.conversation_id,
            }
        )
        if not received.duplicate:
            await run_in_threadpool(enqueue, received.conversation_id)

    async def on_rating(self, frame: dict[str, Any]) -> None:
        """CSAT from the prompt."""
        rating, comment = frame.get("rating"), frame.get("comment")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            await self.error("invalid_rating", "rating must be an integer from 1 to 5")
            return
        if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
            await self.error("invalid_rating", "comment must be text of at most 2000 characters")
            return
        try:
            await run_in_threadpool(_rate, self.contact_id, rating, comment)
        except Invalid as exc:
            await self.error("invalid_rating", exc.message)
            return
        await self.send({"type": "rated"})


def _visible(event: dict[str, Any]) -> dict[str, Any]:
    """What the browser sees of a bus event: a turn's end is the bot's typing ending."""
    if event.get("type") == "turn_done":
        return {"type": "typing", "role": "bot", "typing": False}
    return {k: v for k, v in event.items() if not k.startswith("_")}


@router.websocket("/api/v1/widget/ws")
async def widget_ws(ws: WebSocket) -> None:
    """The customer's live connection (token in the query string)."""
    await ws.accept()
    found = await run_in_threadpool(_verify, ws.query_params.get("token"))
    if found is None:
        await ws.close(code=UNAUTHORIZED, reason="invalid or expired widget token")
        return
    bus: Bus = ws.app.state.bus
    socket = WidgetSocket(ws, bus, *found)
    # Subscribed before the database is read: nothing said in between can be missed.
    subscription = bus.subscribe([contact_channel(socket.contact_id)])
    pump: asyncio.Task[None] | None = None
    websocket_opened("widget")
    try:
        await socket.send(await run_in_threadpool(_hello, socket.contact_id))
        pump = asyncio.create_task(socket.pump(subscription))
        budget = FrameBudget(get_settings().ws_frames_per_minute)
        while True:
            raw = await ws.receive_text()
            if not budget.allow():  # a flood of frames (typing, pings, anything) from one tab
                await socket.error("rate_limited", "too many frames on this connection; slow down")
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                await socket.error("invalid_json", "frames must be JSON objects")
                continue
            if not isinstance(frame, dict):
                await socket.error("invalid_json", "frames must be JSON objects")
                continue
            await socket.handle(frame)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        websocket_closed("widget")
        subscription.close()
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
