"""Anonymous widget sessions: a browser tied to a contact by a signed, rotated token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class WidgetSession(Base):
    """One browser's session; a token is valid while its nonce is current (or just rotated out)."""

    __tablename__ = "widget_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    nonce: Mapped[str] = mapped_column(String(32))
    previous_nonce: Mapped[str | None] = mapped_column(String(32))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
