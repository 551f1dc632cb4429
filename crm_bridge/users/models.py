"""User accounts, their sign-in sessions, MFA recovery codes and failed sign-ins."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.crypto import EncryptedString
from kefu_core.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a user may do."""

    agent = "agent"
    admin = "admin"


class User(Base):
    """An agent or admin account; the password is stored as an argon2 hash only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_concurrent_chats: Mapped[int] = mapped_column(Integer, default=3)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    # Last sign of life from the agent's console socket; None for agents who only use the API. An online
    # agent whose console went quiet for KEFU_AGENT_AWAY_SECONDS takes no new chats (closed laptop).
    console_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # TOTP (RFC 6238): the base32 secret, set by MFA setup; the account is enrolled once mfa_enabled_at
    # is set. Stored encrypted with KEFU_ENCRYPTION_KEY (a database dump alone cannot mint codes). Loaded
    # only when read: a wrong key then stops MFA sign-ins (clearly) but not every read of an account, and
    # `kefu users reset-mfa` still clears it.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString(64, "users.totp_secret"), deferred=True)
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last time step whose code was accepted: a code seen once is refused again (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    @property
    def mfa_enabled(self) -> bool:
        """True once the account has confirmed a TOTP code."""
        return self.mfa_enabled_at is not None


class AuthSession(Base):
    """One sign-in: every access token names its row, so revoking the row ends the token everywhere."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Signed in with a password only while MFA is required but not yet set up: such a session may
    # reach the enrolment routes and nothing else.
    enrolment_only: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(String(200))


class RecoveryCode(Base):
    """One single-use MFA recovery code, stored as a SHA-256 hash (the codes carry 80 random bits)."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """A failed sign-in, counted per account name and per client address (both stored as keyed hashes,
    so neither typed usernames nor addresses are kept); in the database so every worker sees them."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
