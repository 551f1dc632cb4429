"""Sign-in sessions: the server-side row every access token names, so a token can be revoked (no HTTP)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crm_bridge.users.models import AuthSession, User
from kefu_core.db import utcnow
from kefu_core.errors import NotFound


def create(
    session: Session, *, user: User, ttl_s: int, user_agent: str | None, enrolment_only: bool = False
) -> AuthSession:
    """A new session for `user`, valid for `ttl_s` seconds unless revoked first."""
    # The user's expired sessions go now: their tokens are refused by their own expiry anyway.
    expired = delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= utcnow())
    session.execute(expired)
    row = AuthSession(
        id=secrets.token_urlsafe(24),
        user_id=user.id,
        expires_at=utcnow() + timedelta(seconds=ttl_s),
        enrolment_only=enrolment_only,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(row)
    session.flush()
    return row


def active(session: Session, session_id: str) -> tuple[User, AuthSession] | None:
    """The active account and its live session for this id, or None (revoked, expired, deactivated)."""
    row = session.get(AuthSession, session_id)
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def list_active(session: Session, *, user_id: int | None = None) -> list[AuthSession]:
    """Live sessions, newest first: one user's, or everyone's when `user_id` is None."""
    query = select(AuthSession).where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow())
    if user_id is not None:
        query = query.where(AuthSession.user_id == user_id)
    return list(session.scalars(query.order_by(AuthSession.created_at.desc(), AuthSession.id)))


def get_or_raise(session: Session, session_id: str) -> AuthSession:
    """The session with this id, or NotFound."""
    row = session.get(AuthSession, session_id)
    if row is None:
        raise NotFound("session not found")
    return row


def revoke(session: Session, *, session_id: str) -> None:
    """End one session (the caller commits); revoking twice is harmless."""
    row = session.get(AuthSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def revoke_all(session: Session, *, user_id: int, except_id: str | None = None) -> int:
    """End every live session of a user but `except_id` (the caller commits); how many ended."""
    query = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if except_id is not None:
        query = query.where(AuthSession.id != except_id)
    result = session.execute(query.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def upgrade_enrolment(session: Session, *, session_id: str) -> None:
    """An enrolment-only session becomes a full one once its user has turned MFA on."""
    row = session.get(AuthSession, session_id)
    if row is not None:
        row.enrolment_only = False
        session.flush()
