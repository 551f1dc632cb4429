"""Keeps `conversation_facts` true: computed from the base tables for the conversations a transaction
touched, in that same transaction (before it commits), and for all of them by `rebuild`.

Resolutions and reopens leave no trace in the base tables (a conversation has one `resolved_at`), so they
are counted from `Conversation.status` changes as they happen and carried over by every recompute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.kb.models import KbDecision
from crm_bridge.reports.models import ConversationFacts, FactsPending
from kefu_core.db import UTCDateTime
from kefu_core.hours import BusinessHours
from kefu_core.settings import get_settings

F = ConversationFacts
_CHUNK = 500  # ids per IN list (SQLite allows 32766 bound parameters; small lists plan well everywhere)


@dataclass
class _Carry:
    """The status-change history of one conversation."""

    first_resolved_at: datetime | None = None
    resolutions: int = 0
    reopens: int = 0


@dataclass(frozen=True)
class Pending:
    """Status changes not yet in a conversation's facts (crm_bridge/reports/pending.py)."""

    resolutions: int = 0
    reopens: int = 0
    first_resolved_at: datetime | None = None  # the conversation's resolved_at at the first of them


def aware(value: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite returns naive datetimes)."""
    return _aware(value)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _base_rows(session: Session, ids: list[str] | None) -> list[Any]:
    stmt = select(
        Conversation.id,
        Conversation.contact_id,
        Conversation.channel,
        Conversation.language,
        Conversation.started_at,
        Conversation.assignee_id,
        Conversation.status,
        Conversation.resolved_at,
    )
    if ids is None:
        return list(session.execute(stmt))
    return [row for chunk in _chunks(ids) for row in session.execute(stmt.where(Conversation.id.in_(chunk)))]


def _by_conversation(session: Session, stmt: Any, column: Any, ids: list[str] | None) -> list[Any]:
    if ids is None:
        return list(session.execute(stmt))
    return [row for chunk in _chunks(ids) for row in session.execute(stmt.where(column.in_(chunk)))]


def _message_stats(session: Session, ids: list[str] | None) -> dict[str, Any]:
    customer = Message.role == MessageRole.customer
    reply = and_(Message.role == MessageRole.agent, Message.internal.is_(False))

    def count(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = select(
        Message.conversation_id,
        func.max(Message.created_at),
        count(customer),
        count(and_(customer, Message.sentiment_label == "positive")),
        count(and_(customer, Message.sentiment_label == "neutral")),
        count(and_(customer, Message.sentiment_label == "negative")),
        count(reply),
        func.min(case((reply, Message.id))),
    ).group_by(Message.conversation_id)
    return {row[0]: row for row in _by_conversation(session, stmt, Message.conversation_id, ids)}


def _first_replies(session: Session, first_ids: list[int]) -> dict[str, tuple[datetime, int | None]]:
    out: dict[str, tuple[datetime, int | None]] = {}
    stmt = select(Message.conversation_id, Message.created_at, Message.author_id)
    for i in range(0, len(first_ids), _CHUNK):
        for conv, at, author in session.execute(stmt.where(Message.id.in_(first_ids[i : i + _CHUNK]))):
            out[conv] = (_aware(at), author)  # type: ignore[assignment]
    return out


def _handoffs(session: Session, ids: list[str] | None) -> dict[str, tuple[datetime, str]]:
    stmt = (
        select(Escalation.conversation_id, Escalation.created_at, Escalation.reason)
        .where(Escalation.outcome != "declined")
        .order_by(Escalation.conversation_id, Escalation.created_at, Escalation.id)
    )
    out: dict[str, tuple[datetime, str]] = {}
    for conv, at, reason in _by_conversation(session, stmt, Escalation.conversation_id, ids):
        out.setdefault(conv, (_aware(at), reason))  # type: ignore[arg-type]
    return out


def _kb(session: Session, ids: list[str] | None) -> dict[str, tuple[int, int]]:
    stmt = select(
        KbDecision.conversation_id,
        func.count(),
        func.sum(case((KbDecision.decision == "none", 1), else_=0)),
    ).group_by(KbDecision.conversation_id)
    return {
        c: (int(n), int(none or 0))
        for c, n, none in _by_conversation(session, stmt, KbDecision.conversation_id, ids)
    }


def _next_starts(session: Session, contact_ids: set[int] | None) -> dict[str, datetime | None]:
    following = func.lead(Conversation.started_at, type_=UTCDateTime()).over(
        partition_by=Conversation.contact_id, order_by=(Conversation.started_at, Conversation.id)
    )
    stmt = select(Conversation.id, following)
    if contact_ids is None:
        return {c: _aware(n) for c, n in session.execute(stmt)}
    out: dict[str, datetime | None] = {}
    listed = sorted(contact_ids)
    for i in range(0, len(listed), _CHUNK):
        chunk = listed[i : i + _CHUNK]
        out.update({c: _aware(n) for c, n in session.execute(stmt.where(Conversation.contact_id.in_(chunk)))})
    return out


def _carried(session: Session, ids: list[str] | None) -> dict[str, _Carry]:
    stmt = select(F.conversation_id, F.first_resolved_at, F.resolutions, F.reopens)
    return {
        c: _Carry(_aware(first), int(n), int(r))
        for c, first, n, r in _by_conversation(session, stmt, F.conversation_id, ids)
    }


def compute(
    session: Session, ids: list[str] | None, pending: dict[str, Pending] | None = None
) -> list[dict[str, Any]]:
    """The facts rows of `ids` (every conversation when None), with `pending` status changes applied."""
    settings = get_settings()
    hours = BusinessHours.parse(settings.business_hours, settings.timezone)
    base = _base_rows(session, ids)
    messages = _message_stats(session, ids)
    firsts = _first_replies(session, [int(m[7]) for m in messages.values() if m[7] is not None])
    handoffs = _handoffs(session, ids)
    kb = _kb(session, ids)
    nexts = _next_starts(session, None if ids is None else {row.contact_id for row in base})
    carried = _carried(session, ids)
    rows = []
    for b in base:
        carry = carried.get(b.id) or _Carry()
        status = ConversationStatus(b.status)
        resolved_at = _aware(b.resolved_at) if status is ConversationStatus.resolved else None
        change = (pending or {}).get(b.id) or Pending()
        if b.id not in carried and resolved_at is not None and not (change.resolutions or change.reopens):
            carry = _Carry(resolved_at, 1, 0)  # history before the rollup existed: one resolution
        carry.resolutions += change.resolutions
        carry.reopens += change.reopens
        if change.resolutions:
            carry.first_resolved_at = carry.first_resolved_at or change.first_resolved_at or resolved_at
        started = _aware(b.started_at)
        assert started is not None
        stats = messages.get(b.id)
        handoff_at, reason = handoffs.get(b.id, (None, None))
        reply_at, responder = firsts.get(b.id, (None, None))
        # The clock runs from the handoff when the bot handed over before any human replied.
        clock = (
            handoff_at
            if handoff_at is not None and reply_at is not None and handoff_at <= reply_at
            else started
        )
        last_message = _aware(stats[1]) if stats else None
        ended = resolved_at or last_message or started
        next_started = nexts.get(b.id)
        n_kb, n_none = kb.get(b.id, (0, 0))
        rows.append(
            {
                "conversation_id": b.id,
                "contact_id": b.contact_id,
                "channel": b.channel,
                "language": b.language,
                "started_at": started,
                "assignee_id": b.assignee_id,
                "handoff_at": handoff_at,
                "handoff_reason": reason,
                "first_reply_at": reply_at,
                "first_responder_id": responder,
                "first_response_s": _seconds(clock, reply_at),
                "first_response_bh_s": hours.business_seconds(clock, reply_at) if reply_at else None,
                "agent_replies": int(stats[6] or 0) if stats else 0,
                "first_resolved_at": carry.first_resolved_at,
                "resolved_at": resolved_at,
                "resolutions": carry.resolutions,
                "reopens": carry.reopens,
                "first_resolution_s": _seconds(started, carry.first_resolved_at),
                "full_resolution_s": _seconds(started, resolved_at),
                "last_message_at": last_message,
                "next_started_at": next_started,
                "recontact_s": _seconds(ended, next_started),
                "kb_decisions": n_kb,
                "kb_none": n_none,
                "inbound_messages": int(stats[2] or 0) if stats else 0,
                "positive": int(stats[3] or 0) if stats else 0,
                "neutral": int(stats[4] or 0) if stats else 0,
                "negative": int(stats[5] or 0) if stats else 0,
            }
        )
    return rows


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace rows: two transactions refreshing one conversation at once (an agent's reply and
    a bot turn in two workers) must not both insert it (a unique violation on PostgreSQL)."""
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(F)
    columns = {c.name: stmt.excluded[c.name] for c in F.__table__.columns if c.name != "conversation_id"}
    session.execute(stmt.on_conflict_do_update(index_elements=[F.conversation_id], set_=columns), rows)


def _write(session: Session, rows: list[dict[str, Any]], ids: list[str] | None) -> None:
    if ids is None:  # the whole rollup: rebuilt from nothing
        session.execute(delete(F))
        for i in range(0, len(rows), 5000):
            session.execute(insert(F), rows[i : i + 5000])
        return
    gone = set(ids) - {row["conversation_id"] for row in rows}  # conversations erased meanwhile
    for chunk in _chunks(sorted(gone)):
        session.execute(delete(F).where(F.conversation_id.in_(chunk)))
    for i in range(0, len(rows), 5000):
        _upsert(session, rows[i : i + 5000])


def refresh(session: Session, ids: Iterable[str], pending: dict[str, Pending] | None = None) -> int:
    """Recompute the facts of these conversations (the caller's transaction; the caller commits)."""
    listed = sorted(set(ids))
    if not listed:
        return 0
    rows = compute(session, listed, pending)
    _write(session, rows, listed)
    return len(rows)


def previous_of(session: Session, ids: list[str]) -> set[str]:
    """For new conversations: each contact's conversation just before (its next-start changed)."""
    out: set[str] = set()
    for conv_id, contact_id, started in session.execute(
        select(Conversation.id, Conversation.contact_id, Conversation.started_at).where(
            Conversation.id.in_(ids)
        )
    ):
        prev = session.scalar(
            select(Conversation.id)
            .where(
                Conversation.contact_id == contact_id,
                Conversation.started_at < started,
                Conversation.id != conv_id,
            )
            .order_by(Conversation.started_at.desc())
            .limit(1)
        )
        if prev is not None:
            out.add(prev)
    return out


def resync_contacts(session: Session) -> None:
    """After a bulk move of conversations between contacts (a merge): facts follow their conversation."""
    owner = select(Conversation.contact_id).where(Conversation.id == F.conversation_id).scalar_subquery()
    moved = list(session.scalars(select(F.conversation_id).where(F.contact_id != owner)))
    if moved:
        session.execute(update(F).where(F.conversation_id.in_(moved)).values(contact_id=owner))
        contacts = set(session.scalars(select(F.contact_id).where(F.conversation_id.in_(moved))))
        ids = list(session.scalars(select(Conversation.id).where(Conversation.contact_id.in_(contacts))))
        refresh(session, ids)


def rebuild(session: Session) -> int:
    """Recompute every conversation's facts from the base tables (keeps counted reopens, and takes the
    status changes still pending); returns how many."""
    taken = session.execute(
        delete(FactsPending).returning(
            FactsPending.conversation_id,
            FactsPending.resolutions,
            FactsPending.reopens,
            FactsPending.first_resolved_at,
        )
    ).all()
    pending = {c: Pending(n, r, _aware(first)) for c, n, r, first in taken}
    rows = compute(session, None, pending)
    _write(session, rows, None)
    return len(rows)


def rebuild_if_missing(session: Session) -> int | None:
    """Build the rollup when it is empty but conversations exist (a database upgraded to 0017); else None."""
    if session.scalar(select(ConversationFacts.conversation_id).limit(1)) is not None:
        return None
    if session.scalar(select(Conversation.id).limit(1)) is None:
        return None
    return rebuild(session)
