"""A commit marks the conversations it changed (with its status changes) instead of recomputing their facts;
a report applies the marks first, exactly once, so the figures are those of the inline recompute."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.reports import pending
from crm_bridge.reports.models import ConversationFacts, FactsPending

FIRST = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
AGAIN = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


def _mark(session: Session, conversation_id: str) -> FactsPending | None:
    session.expire_all()
    return session.get(FactsPending, conversation_id)


def _away_from_the_minute_job() -> None:
    """The session's app runs `reports.facts` at the top of each minute (in-app workers, periodic): start
    where it cannot apply this test's marks under its feet (the test takes well under a second)."""
    while not 5 <= datetime.now(UTC).second <= 45:
        time.sleep(0.5)


def test_commits_mark_and_a_report_applies_once(session: Session) -> None:
    _away_from_the_minute_job()
    contact = Contact(name="pending")
    session.add(contact)
    session.flush()
    conv = Conversation(contact_id=contact.id, channel="api", language="en", started_at=FIRST)
    session.add(conv)
    session.flush()
    session.add(Message(conversation_id=conv.id, role=MessageRole.customer, text="hi", channel="api"))
    session.commit()
    mark = _mark(session, conv.id)
    assert mark is not None and mark.new and (mark.resolutions, mark.reopens) == (0, 0)
    assert session.get(ConversationFacts, conv.id) is None  # nothing recomputed inside the chat's commit

    for status, resolved_at in (
        (ConversationStatus.resolved, FIRST),
        (ConversationStatus.agent, None),
        (ConversationStatus.resolved, AGAIN),
    ):
        conv.status, conv.resolved_at = status, resolved_at
        session.commit()
    mark = _mark(session, conv.id)
    assert mark is not None and (mark.resolutions, mark.reopens) == (2, 1)
    assert mark.first_resolved_at is not None and mark.first_resolved_at.replace(tzinfo=UTC) == FIRST

    assert pending.apply(session) >= 1
    session.commit()
    assert _mark(session, conv.id) is None
    facts = session.get(ConversationFacts, conv.id)
    assert facts is not None
    assert (facts.resolutions, facts.reopens, facts.inbound_messages) == (2, 1, 1)
    assert facts.first_resolution_s == 0.0 and facts.full_resolution_s == 5400.0
    assert pending.apply(session) == 0  # applied once: nothing counted twice

    conv.status, conv.resolved_at = ConversationStatus.agent, None  # a later reopen: added to the carry
    session.commit()
    pending.apply(session)
    session.commit()
    session.expire_all()
    facts = session.get(ConversationFacts, conv.id)
    assert facts is not None and (facts.resolutions, facts.reopens) == (2, 2)
    assert session.scalar(select(FactsPending).where(FactsPending.conversation_id == conv.id)) is None
