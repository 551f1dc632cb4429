"""User ORM model."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
