"""The availability probe's results: one row per minute (docs/reports.md "Availability")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime


class ServiceProbe(Base):
    """What crm_bridge's own probe found in one minute; the minute is the key, so two workers running the
    same minute's probe store one row."""

    __tablename__ = "service_probes"

    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    healthy: Mapped[bool] = mapped_column(Boolean)
    database_ok: Mapped[bool] = mapped_column(Boolean)
    rasa_ok: Mapped[bool] = mapped_column(Boolean)
    action_server_ok: Mapped[bool] = mapped_column(Boolean)
    knowledge_base_ok: Mapped[bool] = mapped_column(Boolean)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
