"""Outbound deliveries: each message to a platform customer, with its delivery state."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_bridge.conversations.models import Message
from kefu_core.db import Base, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    """queued (or retrying), sent (the platform accepted it), delivered (the platform reports it reached
    the customer's device, where it does), failed (with the reason)."""

    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"


class Delivery(Base):
    """One bot, agent or system message on its way to a customer on an IM channel."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_conversation_status", "conversation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # sending order within a conversation
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16), default=DeliveryStatus.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # How many parts of a long message the platform already has (a retry sends only the rest).
    parts_sent: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)  # the platform's error, never the message text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The platform's id of the (last part of the) sent message, for its delivery reports.
    platform_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    message: Mapped[Message] = relationship()


class ChannelEvent(Base):
    """A per-channel counter of webhook events that are not messages: verification failures, malformed
    bodies, ignored update kinds (the admin Channels page shows them)."""

    __tablename__ = "channel_events"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_detail: Mapped[str | None] = mapped_column(Text)  # a reason, never a payload


class ChannelCursor(Base):
    """A channel's saved position in a platform's message stream (WeCom's sync_msg cursor per open_kfid)."""

    __tablename__ = "channel_cursors"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
