"""User accounts and password hashing (no HTTP)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.errors import Conflict
from crm_bridge.users.models import Role, User

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
) -> User:
    """Create an account; the username must be new."""
    if get_by_username(session, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        languages=languages or ["en"],
        display_name=display_name,
    )
    session.add(user)
    session.flush()
    return user
