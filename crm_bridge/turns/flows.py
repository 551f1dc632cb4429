"""Answering one queued turn: once, in order, and with the customer told when the bot stays down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.escalation import lifecycle as escalation
from crm_bridge.escalation.models import Reason
from crm_bridge.observability.metrics import BOT_FAILURES, TURN_LATENCY, observe_stage
from crm_bridge.rasa_client import RasaClient, RasaUnavailable
from crm_bridge.realtime.events import contact_channel, emit
from crm_bridge.turns import respond as chat
from crm_bridge.turns import service as turns
from crm_bridge.turns.models import Turn, TurnStatus
from kefu_core.db import utcnow
from sentiment.runtime import label_message

log = logging.getLogger("kefu.turns")


@dataclass(frozen=True)
class Policy:
    """How hard a turn tries to reach the bot."""

    attempts: int
    first_delay_s: float


class AlreadyAnswered(Exception):
    """Another worker committed this turn's answer first (its lease ran out while we worked)."""


@contextmanager
def replies_to(session: Session, customer: Message) -> Iterator[None]:
    """Mark every bot or system message added to the conversation meanwhile as answering `customer`
    (a caller waiting for its turn reads them by that)."""

    def tag(session: Session, flush_context: Any, instances: Any) -> None:
        for obj in session.new:
            if (
                isinstance(obj, Message)
                and obj.conversation_id == customer.conversation_id
                and obj.role in (MessageRole.bot, MessageRole.system)
                and obj.reply_to_id is None
            ):
                obj.reply_to_id = customer.id

    event.listen(session, "before_flush", tag)
    try:
        yield
    finally:
        event.remove(session, "before_flush", tag)


def announce_done(session: Session, conversation: Conversation, turn: Turn) -> None:
    """After the commit, tell whoever waits on the customer's channel that this turn is finished."""
    emit(
        session,
        contact_channel(conversation.contact_id),
        {"type": "turn_done", "turn_id": turn.id, "message_id": turn.message_id, "_turn": True},
    )


def answer(session: Session, rasa: RasaClient, turn: Turn, *, worker: str) -> None:
    """Answer a pending turn. Its replies commit only together with the turn's change from pending to
    done (a conditional update), so a job that runs twice, or two workers after a lease ran out,
    store (and send) the replies once. Raises RasaUnavailable having stored nothing, AlreadyAnswered
    having stored nothing."""
    conversation = session.get(Conversation, turn.conversation_id)
    customer = session.get(Message, turn.message_id)
    assert conversation is not None and customer is not None  # both cascade to the turn
    if customer.sentiment_label is None:
        with observe_stage("sentiment"):
            label_message(customer, customer.text, customer.language or "en")
            # Committed before the bot is asked: a write held open across the Rasa call would lock SQLite's
            # one writer, and the custom actions' writes (tickets, escalations) would wait on it until they
            # time out.
            session.commit()
    turn_id = turn.id

    def claim(session: Session) -> None:
        claimed = session.execute(
            update(Turn)
            .where(Turn.id == turn_id, Turn.status == TurnStatus.pending)
            .values(status=TurnStatus.done, attempts=Turn.attempts + 1, worker=worker, finished_at=utcnow())
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyAnswered(turn_id)

    event.listen(session, "before_commit", claim)
    announce_done(session, conversation, turn)
    try:
        with replies_to(session, customer):
            chat.respond(session, rasa, conversation, customer, metadata=turn.rasa_metadata or {})
    finally:
        event.remove(session, "before_commit", claim)


def bot_failed(session: Session, turn_id: int, error: str, *, policy: Policy, worker: str) -> float | None:
    """Count a failed bot call. Returns the seconds until the next try; after the last one the customer
    is told the assistant is unavailable and the conversation goes to agents (queue or ticket), and
    None is returned. Commits."""
    session.rollback()
    turn = session.get(Turn, turn_id)
    assert turn is not None
    turn.attempts += 1
    turn.last_error = error[:500]
    if turn.attempts < policy.attempts:
        turn.next_attempt_at = turns.retry_at(turn, first_delay_s=policy.first_delay_s)
        session.commit()
        delay = (turn.next_attempt_at - utcnow()).total_seconds()
        log.warning(
            "bot unreachable for turn %s (attempt %d of %d), retry in %.1f s",
            turn.id,
            turn.attempts,
            policy.attempts,
            delay,
        )
        return max(delay, 0.0) + 0.05  # the retry job must not arrive before the turn is due
    conversation = session.get(Conversation, turn.conversation_id)
    customer = session.get(Message, turn.message_id)
    assert conversation is not None and customer is not None
    with replies_to(session, customer):
        chat.tell_unavailable(session, conversation, conversation.language)
        escalation.escalate(
            session,
            conversation=conversation,
            reason=Reason.fallback,
            note=f"assistant unavailable: no answer after {turn.attempts} attempts",
            announce=True,
        )
    announce_done(session, conversation, turn)
    turn.status = TurnStatus.unavailable
    turn.worker = worker
    turn.finished_at = utcnow()
    session.commit()
    log.error(
        "bot unreachable for turn %s after %d attempts: customer told, agents flagged", turn.id, turn.attempts
    )
    return None


def run_next(
    session: Session, rasa: RasaClient, conversation_id: str, *, policy: Policy, worker: str
) -> float | None:
    """Answer the conversation's next turn if it is due. Returns None when there is nothing (more) to
    do now, 0 when another turn may be waiting, or the seconds until a retry of a failed bot call."""
    turn = turns.next_pending(session, conversation_id)
    if turn is None:
        return None
    if turn.next_attempt_at > utcnow():
        return None  # waiting for its retry: that job (or the sweeper) comes back for it, in order
    turn_id, created_at = turn.id, turn.created_at
    try:
        answer(session, rasa, turn, worker=worker)
    except RasaUnavailable as exc:
        BOT_FAILURES.inc()
        retry = bot_failed(session, turn_id, str(exc), policy=policy, worker=worker)
        if retry is None:
            TURN_LATENCY.labels("unavailable").observe((utcnow() - created_at).total_seconds())
        return retry
    except AlreadyAnswered:
        session.rollback()
        log.warning("turn %s was answered by another worker meanwhile; this answer is dropped", turn_id)
        return 0.0
    TURN_LATENCY.labels("done").observe((utcnow() - created_at).total_seconds())
    return 0.0
