"""User accounts and password hashing (no HTTP)."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.users.models import Role, User
from kefu_core.errors import Conflict, Invalid, NotFound

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


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
    if len(password) < 8:
        raise Invalid("password must have at least 8 characters")
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
        _hasher.hash(password)  # spend the same time as a real check: no username probing by timing
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
            user.password_hash = hash_password(value)
        else:
            setattr(user, key, value)
    session.flush()
    return user
