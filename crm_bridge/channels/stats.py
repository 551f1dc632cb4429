"""What the admin Channels page shows of each channel: counted webhook events (verification failures,
malformed bodies, ignored updates), last inbound and outbound times, dead deliveries, the last error."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.channels.models import ChannelEvent, Delivery, DeliveryStatus
from crm_bridge.conversations.models import Message, MessageRole
from crm_bridge.observability.metrics import webhook_event
from kefu_core.db import get_sessionmaker, utcnow

log = logging.getLogger("kefu.channels")
VERIFICATION_FAILED = "verification_failed"
MALFORMED = "malformed"
IGNORED = "ignored"


def count(channel: str, kind: str, detail: str = "") -> None:
    """Add one to the channel's `kind` counter (own transaction; a failure is logged, never raised)."""
    webhook_event(channel, kind)  # and to /metrics (kefu_webhook_verification_failures_total, ...)
    try:
        with get_sessionmaker()() as session:
            _bump(session, channel, kind, detail[:300] or None)
    except Exception as exc:  # a counter must never turn a webhook answer into a 500
        log.error("could not count %s event on %s: %s", kind, channel, type(exc).__name__)


def _bump(session: Session, channel: str, kind: str, detail: str | None) -> None:
    values = {"count": ChannelEvent.count + 1, "last_at": utcnow(), "last_detail": detail}
    where = (ChannelEvent.channel == channel, ChannelEvent.kind == kind)
    done = session.execute(update(ChannelEvent).where(*where).values(**values))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.add(ChannelEvent(channel=channel, kind=kind, count=1, last_at=utcnow(), last_detail=detail))
        try:
            session.commit()
            return
        except IntegrityError:  # another request inserted it first
            session.rollback()
            session.execute(update(ChannelEvent).where(*where).values(**values))
    session.commit()


@dataclass(frozen=True)
class Overview:
    """One channel's figures for the Channels page."""

    channel: str
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    events: dict[str, int]
    queued_deliveries: int
    dead_deliveries: int
    last_error: str | None
    last_error_at: datetime | None


def overview(session: Session, channel: str) -> Overview:
    """Counts and times for `channel`, read from messages, deliveries and the event counters."""
    last_in = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.channel == channel, Message.role == MessageRole.customer
        )
    )
    last_out = session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.channel == channel))
    by_status = dict(
        session.execute(
            select(Delivery.status, func.count()).where(Delivery.channel == channel).group_by(Delivery.status)
        ).all()
    )
    events = session.scalars(select(ChannelEvent).where(ChannelEvent.channel == channel)).all()
    failed = session.scalars(
        select(Delivery)
        .where(Delivery.channel == channel, Delivery.last_error.is_not(None))
        .order_by(Delivery.id.desc())
        .limit(1)
    ).first()
    errors: list[tuple[datetime, str]] = [
        (e.last_at, f"{e.kind.replace('_', ' ')}: {e.last_detail or ''}".rstrip(": "))
        for e in events
        if e.kind in (VERIFICATION_FAILED, MALFORMED)
    ]
    if failed is not None and failed.last_error:
        errors.append((failed.next_attempt_at or failed.created_at, failed.last_error))
    last = max(errors, default=None, key=lambda pair: pair[0])
    return Overview(
        channel=channel,
        last_inbound_at=last_in,
        last_outbound_at=last_out,
        events={e.kind: e.count for e in events},
        queued_deliveries=int(by_status.get(DeliveryStatus.queued, 0)),
        dead_deliveries=int(by_status.get(DeliveryStatus.failed, 0)),
        last_error=last[1] if last else None,
        last_error_at=last[0] if last else None,
    )


def mark_delivered(
    session: Session, channel: str, platform_message_id: str, *, error: str | None = None
) -> bool:
    """A platform's delivery report: the delivery becomes `delivered` (or `failed` with the platform's
    reason). False when no delivery carries that id. Does not commit."""
    delivery = session.scalars(
        select(Delivery).where(
            Delivery.channel == channel, Delivery.platform_message_id == platform_message_id
        )
    ).first()
    if delivery is None:
        return False
    if error is not None:
        delivery.status, delivery.last_error = DeliveryStatus.failed, error[:500]
    elif delivery.status is not DeliveryStatus.failed:
        delivery.status, delivery.delivered_at = DeliveryStatus.delivered, utcnow()
    return True
