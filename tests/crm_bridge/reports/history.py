"""A known history for the reports' exact-value tests: one week (Mon 2024-03-04 .. Sun 2024-03-10) in
Asia/Shanghai with business hours Mon-Fri 09:00-18:00. The expected figures are worked out in
test_core_kpis.py next to each assertion."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, object_session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.kb.models import KbDecision
from crm_bridge.users.models import Role, User
from kefu_core.db import make_engine

ZONE = "Asia/Shanghai"
HOURS = "Mon-Fri 09:00-18:00"
ENV = {"KEFU_TIMEZONE": ZONE, "KEFU_BUSINESS_HOURS": HOURS, "KEFU_FCR_WINDOW_DAYS": "7"}
FROM, TO = "2024-03-04", "2024-03-10"


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    """A local time in March 2024 (Shanghai) as an aware UTC instant."""
    return datetime(2024, 3, day, hh, mm, ss, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


@dataclass
class History:
    """What was built: the tag that isolates it, the agents, the conversations by name."""

    tag: str
    other_tag: str
    agent1: int
    agent2: int
    conversations: dict[str, str]


_built: dict[str, History] = {}


def build(db_url: str) -> History:
    """Build the history once per database (the test database is shared by the whole run)."""
    if db_url not in _built:
        engine = make_engine(db_url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                _built[db_url] = _build(session)
        finally:
            engine.dispose()
    return _built[db_url]


def _msg(
    conv: Conversation,
    role: MessageRole,
    when: datetime,
    label: str | None = None,
    author: int | None = None,
    internal: bool = False,
) -> Message:
    message = Message(
        conversation_id=conv.id,
        role=role,
        text="…",
        channel=conv.channel,
        language=conv.language,
        sentiment_label=label,
        author_id=author,
        internal=internal,
        created_at=when,
    )
    session = object_session(conv)
    assert session is not None
    session.add(message)
    return message


def _build(session: Session) -> History:
    tag, other = f"rep-{uuid.uuid4().hex[:8]}", f"rep-{uuid.uuid4().hex[:8]}"
    a1 = User(username=f"ra-{uuid.uuid4().hex[:8]}", password_hash="x", role=Role.agent, languages=["en"])
    a2 = User(username=f"rb-{uuid.uuid4().hex[:8]}", password_hash="x", role=Role.agent, languages=["zh"])
    ca = Contact(name="A", tags=[tag], tier=Tier.standard)
    cb = Contact(name="B", tags=["x", tag], tier=Tier.vip)
    cc = Contact(name="C", tags=[tag])
    cd = Contact(name="D", tags=[other])
    ce = Contact(name="E", tags=[tag])
    session.add_all([a1, a2, ca, cb, cc, cd, ce])
    session.flush()
    convs: dict[str, Conversation] = {}

    def conv(name: str, contact: Contact, channel: str, language: str, start: datetime) -> Conversation:
        c = Conversation(contact_id=contact.id, channel=channel, language=language, started_at=start)
        session.add(c)
        session.flush()
        convs[name] = c
        return c

    def kb(c: Conversation, decision: str, when: datetime) -> None:
        session.add(KbDecision(conversation_id=c.id, language=c.language, decision=decision, created_at=when))

    def handoff(c: Conversation, reason: str, outcome: str, when: datetime) -> None:
        session.add(Escalation(conversation_id=c.id, reason=reason, outcome=outcome, created_at=when))

    # c1: A, widget, Mon 10:00; handoff 10:02, an internal note 10:02:30, first reply 10:04; resolved 10:30.
    c1 = conv("c1", ca, "widget", "en", at(4, 10, 0))
    _msg(c1, MessageRole.customer, at(4, 10, 0), "neutral")
    _msg(c1, MessageRole.bot, at(4, 10, 0, 5))
    kb(c1, "answer", at(4, 10, 0, 4))
    _msg(c1, MessageRole.customer, at(4, 10, 1), "negative")
    handoff(c1, "customer_request", "queued", at(4, 10, 2))
    _msg(c1, MessageRole.agent, at(4, 10, 2, 30), author=a1.id, internal=True)
    _msg(c1, MessageRole.agent, at(4, 10, 4), author=a1.id)
    c1.assignee_id = a1.id
    session.commit()
    c1.status, c1.resolved_at = ConversationStatus.resolved, at(4, 10, 30)
    session.commit()

    # c2: B (vip), api, zh, Fri 17:50; complaint handoff 17:55; replies Mon 09:10 and 09:20;
    # resolved Mon 09:30, reopened, resolved again Mon 11:00.
    c2 = conv("c2", cb, "api", "zh", at(8, 17, 50))
    _msg(c2, MessageRole.customer, at(8, 17, 50), "negative")
    handoff(c2, "complaint", "queued", at(8, 17, 55))
    _msg(c2, MessageRole.agent, at(11, 9, 10), author=a2.id)
    _msg(c2, MessageRole.agent, at(11, 9, 20), author=a2.id)
    c2.assignee_id = a2.id
    session.commit()
    c2.status, c2.resolved_at = ConversationStatus.resolved, at(11, 9, 30)
    session.commit()
    c2.status, c2.resolved_at = ConversationStatus.agent, None
    session.commit()
    c2.status, c2.resolved_at = ConversationStatus.resolved, at(11, 11, 0)
    session.commit()

    # c3: C, widget, Tue 03:00, the bot alone (one `none`, one answer); C is back Wed 12:00 (c4), > 24 h.
    c3 = conv("c3", cc, "widget", "en", at(5, 3, 0))
    _msg(c3, MessageRole.customer, at(5, 3, 0), "positive")
    kb(c3, "none", at(5, 3, 0, 2))
    _msg(c3, MessageRole.bot, at(5, 3, 0, 3))
    _msg(c3, MessageRole.customer, at(5, 3, 1), "neutral")
    kb(c3, "answer", at(5, 3, 1, 1))
    _msg(c3, MessageRole.bot, at(5, 3, 1, 2))
    session.commit()

    # c4: C, widget, Wed 12:00: `none`, then a fallback handoff that became an offline ticket; agent2 wrote
    # only an internal note (c4 is not agent2's).
    c4 = conv("c4", cc, "widget", "en", at(6, 12, 0))
    _msg(c4, MessageRole.customer, at(6, 12, 0), "positive")
    kb(c4, "none", at(6, 12, 0, 1))
    handoff(c4, "fallback", "offline", at(6, 12, 1))
    _msg(c4, MessageRole.agent, at(6, 12, 5), author=a2.id, internal=True)
    session.commit()

    # c5: A again, api, Sat 20:00 (5 d 9.5 h after c1 was resolved): clarify, a declined escalation.
    c5 = conv("c5", ca, "api", "en", at(9, 20, 0))
    _msg(c5, MessageRole.customer, at(9, 20, 0), "neutral")
    kb(c5, "clarify", at(9, 20, 0, 1))
    handoff(c5, "ticket_status", "declined", at(9, 20, 0, 30))
    _msg(c5, MessageRole.bot, at(9, 20, 1))
    session.commit()

    # c6: E, widget, zh, Wed 14:00; assigned 14:00:30, agent1 replies 14:01:30, resolved 14:20.
    c6 = conv("c6", ce, "widget", "zh", at(6, 14, 0))
    _msg(c6, MessageRole.customer, at(6, 14, 0), "positive")
    handoff(c6, "customer_request", "assigned", at(6, 14, 0, 30))
    _msg(c6, MessageRole.agent, at(6, 14, 1, 30), author=a1.id)
    c6.assignee_id = a1.id
    c6.status, c6.resolved_at = ConversationStatus.resolved, at(6, 14, 20)
    session.commit()

    # c7: D (the other tag), widget, Mon 11:00, agent1 replies at 11:05.
    c7 = conv("c7", cd, "widget", "en", at(4, 11, 0))
    _msg(c7, MessageRole.customer, at(4, 11, 0), "negative")
    _msg(c7, MessageRole.agent, at(4, 11, 5), author=a1.id)
    session.commit()
    return History(tag, other, a1.id, a2.id, {name: c.id for name, c in convs.items()})
