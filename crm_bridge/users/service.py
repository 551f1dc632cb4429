"""User accounts (no HTTP); hashing and the password rule live in passwords.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.users.models import Role, User
from crm_bridge.users.passwords import burn_time, check_password_rule, hash_password, verify_password
from kefu_core.errors import Conflict, NotFound

__all__ = ["authenticate", "create", "get_by_username", "get_or_raise", "hash_password", "update"]


def get_by_username(session: Session, username: str) -> User | None:
    """The user with this username, if any."""
    return session.scalars(select(User).where(User.username == username)).first()


def create(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    languages: list[str] | None = None,
    display_name: str | None = None,
    max_concurrent_chats: int = 3,
) -> User:
    """Create an account; the username must be new."""
    if get_by_username(session, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    check_password_rule(password, username=username)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        languages=languages or ["en"],
        display_name=display_name,
        max_concurrent_chats=max_concurrent_chats,
    )
    session.add(user)
    session.flush()
    return user


def get_or_raise(session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown user and bad password)."""
    user = get_by_username(session, username)
    if user is None:
        burn_time(password)  # spend the same time as a real check: no username probing by timing
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


def update(session: Session, *, user: User, changes: dict[str, Any], actor_id: int | None = None) -> User:
    """Apply `changes` (already validated) to `user`; an admin (`actor_id`) may not lock themselves out."""
    if actor_id == user.id and (
        changes.get("active") is False or ("role" in changes and changes["role"] != Role.admin)
    ):
        raise Conflict("you cannot deactivate or demote your own account; another admin can")
    for key, value in changes.items():
        if key == "password":
            check_password_rule(value, username=user.username)
            user.password_hash = hash_password(value)
        else:
            setattr(user, key, value)
    session.flush()
    return user
