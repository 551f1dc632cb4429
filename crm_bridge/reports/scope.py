"""The report filter as SQL conditions on the conversation rollup (period by conversation start, channel,
language, agent, contact tier and tag), and portable percentiles."""

from __future__ import annotations

import math
from typing import Any, TypeVar

from sqlalchemy import Select, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.models import ConversationFacts as F
from kefu_core.errors import Invalid

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def tag_condition(session: Session, tag: str) -> ColumnElement[bool]:
    """contacts.tags (a JSON list) holds `tag`: JSONB containment on PostgreSQL, json_each on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Contact.tags, JSONB).contains([tag])
    each = func.json_each(Contact.tags).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == tag))


def contact_conditions(session: Session, flt: ReportFilter, contact_id: Any) -> list[ColumnElement[bool]]:
    """Tier and tag conditions on whatever column holds the contact id."""
    conds: list[ColumnElement[bool]] = []
    if flt.tier is not None:
        if flt.tier not in {t.value for t in Tier}:
            raise Invalid(
                f"tier: must be one of {', '.join(t.value for t in Tier)}", details={"field": "tier"}
            )
        conds.append(contact_id.in_(select(Contact.id).where(Contact.tier == Tier(flt.tier))))
    if flt.tag is not None:
        conds.append(contact_id.in_(select(Contact.id).where(tag_condition(session, flt.tag))))
    return conds


def agent_condition(agent_id: int) -> ColumnElement[bool]:
    """The agent's conversations: assigned to them, or one they replied to (a reply the customer saw)."""
    replied = select(Message.conversation_id).where(
        Message.role == MessageRole.agent, Message.author_id == agent_id, Message.internal.is_(False)
    )
    return or_(F.assignee_id == agent_id, F.first_responder_id == agent_id, F.conversation_id.in_(replied))


def conditions(session: Session, flt: ReportFilter) -> list[ColumnElement[bool]]:
    """Every condition the filter puts on conversation_facts (conversations started in the period)."""
    conds: list[ColumnElement[bool]] = [F.started_at >= flt.start, F.started_at < flt.end]
    if flt.channel is not None:
        conds.append(F.channel == flt.channel)
    if flt.language is not None:
        conds.append(F.language == flt.language)
    if flt.agent_id is not None:
        conds.append(agent_condition(flt.agent_id))
    conds.extend(contact_conditions(session, flt, F.contact_id))
    return conds


def scoped(stmt: Select[Any], session: Session, flt: ReportFilter) -> Select[Any]:
    """`stmt` limited to the filter's conversations."""
    return stmt.where(and_(*conditions(session, flt)))


def percentiles(
    session: Session, column: Any, conds: list[ColumnElement[bool]], ps: tuple[float, ...] = (0.5, 0.9)
) -> list[float | None]:
    """Continuous percentiles (linear interpolation, as PostgreSQL's percentile_cont) of the non-null values
    of `column` among rows meeting `conds`; None when there are none."""
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(
            select(*[func.percentile_cont(p).within_group(column) for p in ps]).where(*conds)
        ).one()
        return [float(v) if v is not None else None for v in row]
    present = [*conds, column.is_not(None)]
    n = int(session.scalar(select(func.count(column)).where(*conds)) or 0)
    if n == 0:
        return [None for _ in ps]
    out: list[float | None] = []
    for p in ps:
        pos = p * (n - 1)
        lo = math.floor(pos)
        pair = list(session.scalars(select(column).where(*present).order_by(column).offset(lo).limit(2)))
        value = float(pair[0])
        if len(pair) > 1 and pos > lo:
            value += (float(pair[1]) - value) * (pos - lo)
        out.append(value)
    return out


def record_scope(
    session: Session,
    stmt: S,
    flt: ReportFilter,
    *,
    at: Any,
    conversation_id: Any,
    agent_id: Any,
    contact_id: Any,
) -> S:
    """`stmt` narrowed to records (ratings, tickets) made in the period and the segment: channel and
    language through the record's conversation (a record without one matches neither), agent and contact
    through the given columns."""
    stmt = stmt.where(at >= flt.start, at < flt.end)
    if flt.channel or flt.language:
        stmt = stmt.join(Conversation, Conversation.id == conversation_id)
        if flt.channel:
            stmt = stmt.where(Conversation.channel == flt.channel)
        if flt.language:
            stmt = stmt.where(Conversation.language == flt.language)
    if flt.agent_id is not None:
        stmt = stmt.where(agent_id == flt.agent_id)
    return stmt.where(*contact_conditions(session, flt, contact_id))
