"""Widget session tokens: a random 128-bit session id bound to a contact, signed, rotated on every visit.

A token is a JWT (HS256, KEFU_SECRET_KEY) carrying the session id and a nonce. Only the session's
current nonce is accepted, plus the previous one for a short grace period, so a reload that races a
rotation loses nothing while an old token stops working soon after.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts import service as contacts
from crm_bridge.conversations.models import Conversation
from crm_bridge.widget.models import WidgetSession
from kefu_core.db import utcnow
from kefu_core.settings import get_settings

CHANNEL = "web"
GRACE = timedelta(seconds=120)
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Issued:
    """A token handed to the browser."""

    token: str
    session_id: str
    contact_id: int
    expires_at: datetime


def _sign(widget: WidgetSession) -> Issued:
    expires = utcnow() + timedelta(minutes=get_settings().widget_token_ttl_minutes)
    claims = {"typ": "widget", "sid": widget.id, "n": widget.nonce, "exp": expires}
    token = jwt.encode(claims, get_settings().secret_key, algorithm=_ALGORITHM)
    return Issued(token, widget.id, widget.contact_id, expires)


def verify(session: Session, token: str | None) -> WidgetSession | None:
    """The session behind a valid token (current nonce, or the previous one within the grace period)."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[_ALGORITHM])
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "widget" or not isinstance(claims.get("sid"), str):
        return None
    widget = session.get(WidgetSession, claims["sid"])
    if widget is None:
        return None
    nonce = claims.get("n")
    recent = widget.rotated_at is not None and utcnow() - widget.rotated_at <= GRACE
    if nonce != widget.nonce and not (recent and nonce == widget.previous_nonce):
        return None
    # A merge moved this browser's conversations to another contact: the session follows them (saved when
    # the caller commits; resolved again on each use until then).
    widget.contact_id = contacts.surviving_id(session, widget.contact_id)
    return widget


def start_or_rotate(
    session: Session, token: str | None, language: str | None, *, before_new: Callable[[], None] | None = None
) -> Issued:
    """Rotate a valid token's session; otherwise start a new anonymous session (and contact).

    `before_new` runs before a new session is made and may raise (the per-address rate limit)."""
    widget = verify(session, token)
    if widget is not None:
        widget.previous_nonce = widget.nonce
        widget.nonce = secrets.token_hex(16)
        widget.rotated_at = utcnow()
    else:
        if before_new is not None:
            before_new()
        session_id = secrets.token_hex(16)  # 128 random bits: never guessable
        contact = contacts.resolve_identity(
            session, channel=CHANNEL, external_id=session_id, language=language
        )
        session.flush()
        widget = WidgetSession(id=session_id, contact_id=contact.id, nonce=secrets.token_hex(16))
        session.add(widget)
    session.flush()
    return _sign(widget)


def latest_conversation(session: Session, contact_id: int) -> Conversation | None:
    """The contact's most recent widget conversation (any status)."""
    stmt = (
        select(Conversation)
        .where(Conversation.contact_id == contact_id, Conversation.channel == CHANNEL)
        .order_by(Conversation.started_at.desc(), Conversation.id.desc())
    )
    return session.scalars(stmt).first()
