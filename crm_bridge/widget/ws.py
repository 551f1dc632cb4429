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
from sqlalchemy.exc import IntegrityError

from crm_bridge.chat.flows import handle_turn
from crm_bridge.chat.schemas import ChatRequest
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message
from crm_bridge.feedback import service as feedback
from crm_bridge.feedback.models import Feedback
from crm_bridge.realtime.bus import Bus, relay
from crm_bridge.realtime.events import AGENTS, contact_channel, message_object
from crm_bridge.widget import sessions
from kefu_core.db import get_sessionmaker
from kefu_core.errors import Invalid

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

    async def error(self, code: str, message: str) -> None:
        """Tell the browser what was wrong with its frame."""
        await self.send({"type": "error", "code": code, "message": message})

    async def pump(self, subscription: Any) -> None:
        """Forward live events for this customer; too far behind, the socket is closed and the browser
        reconnects and resumes from the database."""
        await relay(
            subscription, self.send, lambda event: {k: v for k, v in event.items() if not k.startswith("_")}
        )
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
        await self.send({"type": "typing", "role": "bot", "typing": True})
        try:
            response = await run_in_threadpool(_turn, self.ws, request, client_id)
        finally:
            await self.send({"type": "typing", "role": "bot", "typing": False})
        conversation_id, message_id, replies = response
        # conversation_id is an extra field: the widget learns its (new) conversation from the ack.
        await self.send(
            {"type": "ack", "client_id": client_id, "id": message_id, "conversation_id": conversation_id}
        )
        for reply in replies:  # also on the bus; `send` drops the second copy
            await self.send({"type": "message", **reply, "conversation_id": conversation_id})

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


def _turn(
    ws: WebSocket, request: ChatRequest, client_id: str
) -> tuple[str, int | None, list[dict[str, Any]]]:
    with get_sessionmaker()() as session:
        try:
            response = handle_turn(session, ws.app.state.rasa, request, client_id=client_id)
        except IntegrityError:
            # The same client_id raced in from another socket: that copy is stored; answer with its id.
            session.rollback()
            response = handle_turn(session, ws.app.state.rasa, request, client_id=client_id)
        replies = [session.get(Message, m.id) for m in response.messages]
        stored = [message_object(m) for m in replies if m is not None]
        return response.conversation_id, response.customer_message_id, stored


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
    try:
        await socket.send(await run_in_threadpool(_hello, socket.contact_id))
        pump = asyncio.create_task(socket.pump(subscription))
        while True:
            raw = await ws.receive_text()
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
        subscription.close()
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
