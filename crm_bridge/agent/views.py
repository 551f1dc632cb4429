"""Agent REST API: presence, queue, accept, reply or note, resolve, hand back, packet, canned replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.agent import packet
from crm_bridge.agent.models import CannedReply
from crm_bridge.agent.schemas import (
    AgentMessage,
    CannedReplyIn,
    CannedReplyRead,
    CannedReplyUpdate,
    StatusRequest,
)
from crm_bridge.audit import service as audit
from crm_bridge.channels import delivery_state, outbound
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import ConversationStatus, MessageRole
from crm_bridge.db import DbSession
from crm_bridge.escalation import lifecycle, roster
from crm_bridge.escalation.queue import emit_queue, queue_items
from crm_bridge.realtime.events import emit_message, message_object
from crm_bridge.shapes import PathId
from crm_bridge.users import service as users
from crm_bridge.users.auth import Principal, forget_account, require_role
from crm_bridge.users.models import Role, User
from kefu_core.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])
Agent = Annotated[Principal, require_role(Role.agent)]
Admin = Annotated[Principal, require_role(Role.admin)]


def _me(session: DbSession, principal: Principal) -> User:
    assert principal.user_id is not None
    return users.get_or_raise(session, principal.user_id)


@router.post("/status")
def set_status(body: StatusRequest, principal: Agent, session: DbSession) -> dict[str, Any]:
    """Go online (take chats) or offline."""
    me = _me(session, principal)
    me.online = body.online
    session.flush()
    if body.online:
        lifecycle.dispatch(session)
    lifecycle.release_unstaffed(session)
    emit_queue(session)
    session.commit()
    forget_account(me.id)
    return {
        "online": me.online,
        "active_chats": roster.loads(session).get(me.id, 0),
        "max_concurrent_chats": me.max_concurrent_chats,
    }


@router.get("/queue")
def queue(principal: Agent, session: DbSession) -> dict[str, Any]:
    """Waiting conversations in the caller's languages (admins: all), oldest first."""
    if lifecycle.release_unstaffed(session):
        session.commit()
    items = queue_items(session)
    if not principal.is_admin:
        me = _me(session, principal)
        items = [
            i for i in items if not me.languages or i["language"] in me.languages or i["language"] is None
        ]
    return {"items": items}


@router.post("/conversations/{conversation_id}/accept")
def accept(conversation_id: str, principal: Agent, session: DbSession) -> dict[str, Any]:
    """Take a queued conversation; the customer hears who joined and the queue moves."""
    conversation = conversations.get_plain_or_raise(session, conversation_id)
    lifecycle.accept(
        session, conversation=conversation, agent=_me(session, principal), is_admin=principal.is_admin
    )
    session.commit()
    return {
        "conversation_id": conversation.id,
        "status": conversation.status.value,
        "assignee_id": conversation.assignee_id,
    }


@router.post("/conversations/{conversation_id}/messages", status_code=201)
def send(conversation_id: str, body: AgentMessage, principal: Agent, session: DbSession) -> dict[str, Any]:
    """Reply to the customer (own chat only) or add an internal note (never shown to the customer)."""
    conversation = conversations.get_plain_or_raise(session, conversation_id)
    assert principal.user_id is not None
    lifecycle.check_owner(conversation, principal.user_id, principal.is_admin)
    if not body.internal and conversation.status is not ConversationStatus.agent:
        raise Conflict(f"accept the conversation before replying (it is {conversation.status.value})")
    refused = None if body.internal else outbound.refusal(session, conversation)
    if refused is not None:  # the platform's reply window is closed: say so rather than fail later
        raise Conflict(refused)
    message = conversations.add_message(
        session,
        conversation=conversation,
        role=MessageRole.agent,
        text=body.text,
        language=conversation.language,
        internal=body.internal,
        author_id=principal.user_id,
    )
    emit_message(session, conversation, message)
    session.commit()
    delivery = delivery_state.by_message(session, [message.id]).get(message.id)
    return {
        "conversation_id": conversation.id,
        **message_object(message),
        "internal": message.internal,
        "delivery": delivery,
    }


def _end(
    step: Callable[..., None], conversation_id: str, principal: Principal, session: Session
) -> dict[str, Any]:
    """Run resolve or handback for the chat's owner (or an admin) and report the new status."""
    conversation = conversations.get_plain_or_raise(session, conversation_id)
    assert principal.user_id is not None
    step(session, conversation=conversation, user_id=principal.user_id, is_admin=principal.is_admin)
    session.commit()
    return {"conversation_id": conversation.id, "status": conversation.status.value}


@router.post("/conversations/{conversation_id}/resolve")
def resolve(conversation_id: str, principal: Agent, session: DbSession) -> dict[str, Any]:
    """Close the chat; the customer gets the rating prompt."""
    return _end(lifecycle.resolve, conversation_id, principal, session)


@router.post("/conversations/{conversation_id}/handback")
def handback(conversation_id: str, principal: Agent, session: DbSession) -> dict[str, Any]:
    """Give the conversation back to the bot."""
    return _end(lifecycle.handback, conversation_id, principal, session)


@router.get("/conversations/{conversation_id}/packet")
def get_packet(
    conversation_id: str, principal: Agent, session: DbSession, request: Request
) -> dict[str, Any]:
    """The handoff packet: transcript, summary, sentiment trend, contact, open tickets, past conversations."""
    conversation = conversations.get_or_raise(session, conversation_id)
    assert principal.user_id is not None
    lifecycle.check_owner(conversation, principal.user_id, principal.is_admin)
    built = packet.build(session, conversation)
    audit.record_conversation_read(
        session,
        request,
        principal,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        via="packet",
    )
    session.commit()
    return built


@router.get("/conversations/{conversation_id}/deliveries")
def get_deliveries(conversation_id: str, principal: Agent, session: DbSession) -> dict[str, Any]:
    """Where each message to the customer stands on an IM channel (the console polls it): by message id,
    `{"status", "error"}`; empty for widget and REST conversations."""
    conversation = conversations.get_plain_or_raise(session, conversation_id)
    assert principal.user_id is not None
    lifecycle.check_owner(conversation, principal.user_id, principal.is_admin)
    found = delivery_state.of_conversation(session, conversation.id)
    return {"conversation_id": conversation.id, "deliveries": {str(k): v for k, v in found.items()}}


@router.get("/load")
def load(_: Admin, session: DbSession) -> dict[str, Any]:
    """Every agent's presence, active chats and limit."""
    counts = roster.loads(session)
    people = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    return {
        "items": [
            {
                "user_id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.value,
                "languages": u.languages,
                "online": u.online,
                "active_chats": counts.get(u.id, 0),
                "max_concurrent_chats": u.max_concurrent_chats,
            }
            for u in people
        ]
    }


@router.get("/canned-replies", response_model=dict[str, list[CannedReplyRead]])
def list_canned(
    _: Agent, session: DbSession, language: Annotated[str | None, Query(pattern="^(en|zh)$")] = None
) -> dict[str, Any]:
    """Canned replies, optionally in one language."""
    stmt = select(CannedReply).order_by(CannedReply.language, CannedReply.title, CannedReply.id)
    if language:
        stmt = stmt.where(CannedReply.language == language)
    return {"items": list(session.scalars(stmt))}


def _canned(session: DbSession, reply_id: int) -> CannedReply:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFound(f"canned reply {reply_id} not found")
    return reply


@router.get("/canned-replies/{reply_id}", response_model=CannedReplyRead)
def get_canned(reply_id: PathId, _: Agent, session: DbSession) -> CannedReply:
    """One canned reply."""
    return _canned(session, reply_id)


@router.post("/canned-replies", response_model=CannedReplyRead, status_code=201)
def create_canned(body: CannedReplyIn, principal: Admin, session: DbSession, request: Request) -> CannedReply:
    """Add a canned reply (admins)."""
    reply = CannedReply(**body.model_dump())
    session.add(reply)
    session.flush()
    audit.record(
        session,
        request,
        principal,
        action="canned_reply.create",
        target_type="canned_reply",
        target_id=reply.id,
    )
    session.commit()
    return reply


@router.patch("/canned-replies/{reply_id}", response_model=CannedReplyRead)
@router.put("/canned-replies/{reply_id}", response_model=CannedReplyRead)
def update_canned(
    reply_id: PathId, body: CannedReplyUpdate, principal: Admin, session: DbSession, request: Request
) -> CannedReply:
    """Change a canned reply (admins)."""
    reply = _canned(session, reply_id)
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        setattr(reply, key, value)
    audit.record(
        session,
        request,
        principal,
        action="canned_reply.update",
        target_type="canned_reply",
        target_id=reply_id,
        details={"fields": sorted(changes)},
    )
    session.commit()
    return reply


@router.delete("/canned-replies/{reply_id}", status_code=204)
def delete_canned(reply_id: PathId, principal: Admin, session: DbSession, request: Request) -> Response:
    """Remove a canned reply (admins)."""
    session.delete(_canned(session, reply_id))
    audit.record(
        session,
        request,
        principal,
        action="canned_reply.delete",
        target_type="canned_reply",
        target_id=reply_id,
    )
    session.commit()
    return Response(status_code=204)
