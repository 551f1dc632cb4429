"""Messages to IM customers leave through the queue: every bot, agent or system message stored in a
conversation on a channel with a sender gets a delivery row in the same flush, and a job sends a
conversation's deliveries in order, retrying with backoff (a platform's retry-after honoured)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from huey import crontab
from huey.exceptions import RetryTask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.contacts.models import ContactIdentity
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.jobs import leases
from crm_bridge.jobs.queue import huey, task, worker_name
from crm_bridge.observability.metrics import observe_stage
from kefu_core.db import get_sessionmaker, utcnow

log = logging.getLogger("kefu.channels")
MAX_ATTEMPTS = 8
FIRST_DELAY_S = 2.0
_KEY = "kefu_deliveries"


@dataclass
class SendError(Exception):
    """A platform refused or could not take a message. `parts_sent`: how many parts it did take."""

    reason: str
    retry_after: float | None = None
    permanent: bool = False
    parts_sent: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.reason


class Sender(Protocol):
    """A channel's way out: send one message's text (and buttons) to a platform user."""

    def send(
        self, *, recipient: str, text: str, buttons: list[dict[str, Any]], skip_parts: int
    ) -> str | None:
        """Send the message, skipping the first `skip_parts` parts; raise SendError when it fails.
        Returns the platform's id of the (last) message sent, where it gives one (for delivery reports)."""


# Why a platform would refuse a message to this conversation now (a reply window closed), or None.
Refusal = Callable[[Session, Conversation], str | None]
_senders: dict[str, Callable[[], Sender | None]] = {}
_refusals: dict[str, Refusal] = {}


def register(channel: str, factory: Callable[[], Sender | None], *, refusal: Refusal | None = None) -> None:
    """Make `channel` an outbound channel; `factory` builds its sender (None: not configured now);
    `refusal` tells an agent beforehand that the platform will not take a message (e.g. its window)."""
    _senders[channel] = factory
    if refusal is not None:
        _refusals[channel] = refusal


def refusal(session: Session, conversation: Conversation) -> str | None:
    """Why the conversation's channel will not take a message now, or None when it will."""
    check = _refusals.get(conversation.channel)
    return check(session, conversation) if check is not None else None


@event.listens_for(Session, "before_flush")
def _queue_deliveries(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.new):
        if (
            isinstance(obj, Message)
            and obj.channel in _senders
            and obj.role is not MessageRole.customer
            and not obj.internal
        ):
            session.add(Delivery(message=obj, conversation_id=obj.conversation_id, channel=obj.channel))
            session.info.setdefault(_KEY, set()).add(obj.conversation_id)


@event.listens_for(Session, "after_commit")
def _enqueue(session: Session) -> None:
    for conversation_id in session.info.pop(_KEY, ()):
        try:
            deliver(conversation_id)
        except Exception as exc:  # the sweep of due deliveries picks it up
            log.error("could not enqueue deliveries of %s: %s", conversation_id, type(exc).__name__)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


def next_queued(session: Session, conversation_id: str) -> Delivery | None:
    """The conversation's oldest delivery still to send (they go out strictly in this order)."""
    stmt = (
        select(Delivery)
        .where(Delivery.conversation_id == conversation_id, Delivery.status == DeliveryStatus.queued)
        .order_by(Delivery.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def _recipient(session: Session, delivery: Delivery) -> str | None:
    conversation = session.get(Conversation, delivery.conversation_id)
    if conversation is None:
        return None
    stmt = select(ContactIdentity.external_id).where(
        ContactIdentity.contact_id == conversation.contact_id, ContactIdentity.channel == delivery.channel
    )
    return session.scalars(stmt).first()


def _fail(session: Session, delivery: Delivery, reason: str) -> float:
    delivery.status = DeliveryStatus.failed
    delivery.last_error = reason[:500]
    session.commit()
    log.warning("delivery %s failed: %s", delivery.id, reason[:200])
    return 0.0  # the next message goes on


def send_next(session: Session, conversation_id: str) -> float | None:
    """Send the conversation's next due delivery. None: nothing to send now; 0: sent (or failed for
    good), look for the next; above 0: seconds until this one is retried."""
    delivery = next_queued(session, conversation_id)
    if delivery is None or delivery.next_attempt_at > utcnow():
        return None
    factory = _senders.get(delivery.channel)
    sender = factory() if factory else None
    if sender is None:
        return _fail(session, delivery, f"the {delivery.channel} channel is not configured")
    recipient = _recipient(session, delivery)
    if recipient is None:
        return _fail(session, delivery, "the customer has no identity on this channel any more")
    message = delivery.message
    delivery.attempts += 1
    try:
        with observe_stage("send"):  # the platform's API call (IM channels)
            platform_id = sender.send(
                recipient=recipient,
                text=message.text,
                buttons=message.buttons or [],
                skip_parts=delivery.parts_sent,
            )
    except SendError as exc:
        delivery.parts_sent += exc.parts_sent
        if exc.permanent or delivery.attempts >= MAX_ATTEMPTS:
            return _fail(session, delivery, f"{exc.reason} (after {delivery.attempts} attempts)")
        delay = max(exc.retry_after or 0.0, FIRST_DELAY_S * 2 ** (delivery.attempts - 1))
        delivery.last_error = exc.reason[:500]
        delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
        session.commit()
        log.info("delivery %s retried in %.1f s: %s", delivery.id, delay, exc.reason[:200])
        return delay + 0.05
    delivery.status = DeliveryStatus.sent
    delivery.sent_at = utcnow()
    delivery.platform_message_id = platform_id[:128] if platform_id else None
    session.commit()
    return 0.0


def _due(conversation_id: str) -> Callable[[Session], bool]:
    def due(session: Session) -> bool:
        delivery = next_queued(session, conversation_id)
        return delivery is not None and delivery.next_attempt_at <= utcnow()

    return due


@task("channels.deliver", retries=3, retry_delay=1.0, retry_backoff=2.0)
def deliver(conversation_id: str) -> None:
    """Send a conversation's queued messages to its platform, in order, one worker at a time."""
    retry = leases.drain(
        f"out:{conversation_id}",
        lambda session: send_next(session, conversation_id),
        due=_due(conversation_id),
        owner=worker_name(),
        seconds=120,  # a send takes seconds; a dead owner's lease runs out
    )
    if retry is not None:
        raise RetryTask(delay=retry)


@huey.periodic_task(crontab(minute="*"), name="channels.sweep")
def sweep() -> None:
    """Re-enqueue conversations whose next delivery is overdue by 30 s (its job was lost)."""
    due = utcnow() - timedelta(seconds=30)
    with get_sessionmaker()() as session:
        stale = session.scalars(
            select(Delivery.conversation_id)
            .where(Delivery.status == DeliveryStatus.queued, Delivery.next_attempt_at < due)
            .distinct()
            .limit(500)
        ).all()
    for conversation_id in stale:
        deliver(conversation_id)
