"""Outbox ORM models: pending CRM writes, and which external record a local one became."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    """Where an outbox item is: waiting (or retrying), delivered, or stuck until replayed."""

    pending = "pending"
    done = "done"
    dead = "dead"


class Operation(enum.StrEnum):
    """What an outbox item asks the connector to do."""

    upsert_contact = "upsert_contact"
    create_ticket = "create_ticket"
    update_ticket = "update_ticket"
    write_feedback = "write_feedback"
    erase_contact = "erase_contact"  # PIPL / GDPR erasure: delete the contact's records in the CRM


class LinkKind(enum.StrEnum):
    """The kind of record an external link maps."""

    contact = "contact"
    ticket = "ticket"
    feedback = "feedback"


class OutboxItem(Base):
    """One write to an external CRM, stored in the same transaction as the change it mirrors."""

    __tablename__ = "outbox_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(64), index=True)
    operation: Mapped[str] = mapped_column(String(32))
    # "ticket:T-000123": items about the same record (or its contact) are delivered in order.
    entity: Mapped[str | None] = mapped_column(String(200), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=16), default=OutboxStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)  # connector errors carry no personal data
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExternalLink(Base):
    """The external CRM's id of a local contact, ticket or feedback."""

    __tablename__ = "external_links"
    __table_args__ = (UniqueConstraint("connector", "kind", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(64))
    kind: Mapped[LinkKind] = mapped_column(Enum(LinkKind, native_enum=False, length=16))
    local_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
