"""The agent WebSocket: the queue, and messages, typing and status of the agent's chats, live."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from crm_bridge.conversations.models import Conversation
from crm_bridge.escalation.lifecycle import release_unstaffed
from crm_bridge.escalation.queue import queue_items
from crm_bridge.observability.metrics import websocket_closed, websocket_opened
from crm_bridge.ratelimit import FrameBudget
from crm_bridge.realtime.bus import Bus, relay
from crm_bridge.realtime.events import AGENTS, contact_channel
from crm_bridge.users.auth import SESSION_COOKIE, decode_access_token, load_principal
from crm_bridge.users.models import User
from kefu_core.db import get_sessionmaker, utcnow
from kefu_core.settings import get_settings

router = APIRouter()
UNAUTHORIZED = 4401


@dataclass(frozen=True)
class AgentIdentity:
    """Who is on the socket."""

    user_id: int
    is_admin: bool
    languages: tuple[str, ...]
    session_id: str = ""


def _identify(token: str | None) -> AgentIdentity | None:
    found = decode_access_token(token) if token else None
    if found is None:
        return None
    principal = load_principal(*found)
    if principal is None or principal.user_id is None or principal.enrolment_only:
        return None
    with get_sessionmaker()() as session:
        user = session.get(User, principal.user_id)
        languages = tuple(user.languages or ()) if user is not None else ()
    return AgentIdentity(principal.user_id, principal.is_admin, languages, found[1])


REVOKE_CHECK_S = 1.0  # how often an open socket checks its session is still live (revocation: < 2 s)


async def _close_when_revoked(ws: WebSocket, identity: AgentIdentity) -> None:
    """Close the socket once its session is revoked or its account deactivated (in any worker)."""
    while True:
        await asyncio.sleep(REVOKE_CHECK_S)
        principal = await run_in_threadpool(load_principal, identity.user_id, identity.session_id)
        if principal is None:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await ws.close(code=UNAUTHORIZED, reason="session ended")
            return


SEEN_EVERY_S = 15.0  # how often a busy socket refreshes the agent's console_seen_at


def _seen(user_id: int) -> None:
    """The agent's console is alive now."""
    with get_sessionmaker()() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.console_seen_at = utcnow()
            session.commit()


def _release_if_still_away(user_id: int) -> None:
    with get_sessionmaker()() as session:
        user = session.get(User, user_id)
        away_since = utcnow() - timedelta(seconds=get_settings().agent_away_seconds)
        if (
            user is None
            or not user.online
            or user.console_seen_at is None
            or user.console_seen_at > away_since
        ):
            return  # went offline properly, or came back: nothing to release
        if release_unstaffed(session):
            session.commit()


async def _release_when_away(user_id: int) -> None:
    """After the away time, if this agent's console is still silent, queued chats nobody present can
    take become tickets (no customer keeps waiting for an agent whose laptop closed)."""
    await asyncio.sleep(get_settings().agent_away_seconds + 1)
    await run_in_threadpool(_release_if_still_away, user_id)


def _queue(identity: AgentIdentity) -> dict[str, Any]:
    with get_sessionmaker()() as session:
        return {"type": "queue", "items": queue_items(session)}


def _typing_target(identity: AgentIdentity, conversation_id: str) -> int | None:
    """The contact to tell, when this agent may act on the conversation."""
    with get_sessionmaker()() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return None
        if not identity.is_admin and conversation.assignee_id != identity.user_id:
            return None
        return conversation.contact_id


class AgentSocket:
    """One agent's connection."""

    def __init__(self, ws: WebSocket, bus: Bus, identity: AgentIdentity) -> None:
        self.ws = ws
        self.bus = bus
        self.me = identity
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame."""
        async with self.lock:
            await self.ws.send_text(json.dumps(frame, ensure_ascii=False, default=str))

    def visible(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The frame this agent should see, or None: own chats (admins: all), queue in own languages."""
        if event.get("type") == "queue":
            items = event["items"]
            if not self.me.is_admin and self.me.languages:
                items = [
                    i for i in items if i.get("language") in self.me.languages or i.get("language") is None
                ]
            return {"type": "queue", "items": items}
        owner = event.get("_assignee_id")
        if not self.me.is_admin and owner is not None and owner != self.me.user_id:
            return None
        return {k: v for k, v in event.items() if not k.startswith("_")}

    async def pump(self, subscription: Any) -> None:
        """Forward bus events; a socket too far behind is closed (the console reconnects and reloads)."""
        await relay(subscription, self.send, self.visible)
        await self.ws.close(code=1013)

    async def handle(self, frame: dict[str, Any]) -> None:
        """One agent frame: ping, or typing in one of the agent's chats."""
        if frame.get("type") == "ping":
            await self.send({"type": "pong"})
        elif frame.get("type") == "typing" and isinstance(frame.get("conversation_id"), str):
            contact_id = await run_in_threadpool(_typing_target, self.me, frame["conversation_id"])
            if contact_id is None:
                await self.send({"type": "error", "code": "forbidden", "message": "not your conversation"})
                return
            event = {"type": "typing", "role": "agent", "typing": bool(frame.get("typing"))}
            await self.bus.publish(contact_channel(contact_id), event)
        else:
            await self.send({"type": "error", "code": "unknown_type", "message": "unknown frame"})


def _same_origin(ws: WebSocket) -> bool:
    """True when the handshake comes from a page of this server (or from a non-browser client)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == ws.headers.get("host")


@router.websocket("/api/v1/agent/ws")
async def agent_ws(ws: WebSocket) -> None:
    """An agent's live connection (the kefu_session cookie or ?token=<JWT>)."""
    await ws.accept()
    token = ws.query_params.get("token")
    if not token and _same_origin(ws):
        # The cookie only counts from kefu's own pages: another site cannot ride an agent's session.
        token = ws.cookies.get(SESSION_COOKIE)
    identity = await run_in_threadpool(_identify, token)
    if identity is None:
        await ws.close(code=UNAUTHORIZED, reason="authentication required")
        return
    await run_in_threadpool(_seen, identity.user_id)
    seen_at = time.monotonic()
    bus: Bus = ws.app.state.bus
    socket = AgentSocket(ws, bus, identity)
    subscription = bus.subscribe([AGENTS])
    pump = asyncio.create_task(socket.pump(subscription))
    watch = asyncio.create_task(_close_when_revoked(ws, identity))
    websocket_opened("agent")
    try:
        first = socket.visible(await run_in_threadpool(_queue, identity))
        if first is not None:
            await socket.send(first)
        budget = FrameBudget(get_settings().ws_frames_per_minute)
        while True:
            raw = await ws.receive_text()
            if not budget.allow():
                await socket.send(
                    {"type": "error", "code": "rate_limited", "message": "too many frames on this connection"}
                )
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                frame = None
            if time.monotonic() - seen_at > SEEN_EVERY_S:  # the console pings every 20 s
                await run_in_threadpool(_seen, identity.user_id)
                seen_at = time.monotonic()
            if isinstance(frame, dict):
                await socket.handle(frame)
            else:
                await socket.send(
                    {"type": "error", "code": "invalid_json", "message": "frames must be JSON objects"}
                )
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        websocket_closed("agent")
        subscription.close()
        pump.cancel()
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watch
        tasks: set[asyncio.Task[None]] = ws.app.state.presence_tasks
        task = asyncio.create_task(_release_when_away(identity.user_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
