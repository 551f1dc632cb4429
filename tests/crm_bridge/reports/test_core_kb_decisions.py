"""The knowledge-base search records its decision for a customer's conversation (the unanswered rate
and FAQ-entry frequencies read it), and the conversation's rollup counts it at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.kb.models import KbDecision
from crm_bridge.reports import pending
from crm_bridge.reports.models import ConversationFacts
from tests.app_fixtures import SERVICE_TOKEN

AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def test_search_for_a_conversation_is_recorded(client: TestClient, session: Session) -> None:
    contact = Contact(name="kb")
    session.add(contact)
    session.flush()
    conv = Conversation(contact_id=contact.id, channel="api", language="en")
    session.add(conv)
    session.commit()
    q = {"q": "How long does delivery take?", "conversation_id": conv.id}
    assert client.get("/api/v1/kb/search", params=q, headers=AUTH).json()["decision"] == "answer"
    odd = {"q": "zxqv wibble florp", "conversation_id": conv.id, "lang": "en"}
    none = client.get("/api/v1/kb/search", params=odd, headers=AUTH).json()["decision"]
    # Without a conversation (an admin trying a question) or with an unknown one, nothing is recorded.
    client.get("/api/v1/kb/search", params={"q": "refund"}, headers=AUTH)
    client.get("/api/v1/kb/search", params={"q": "refund", "conversation_id": "f" * 32}, headers=AUTH)
    session.expire_all()
    rows = list(session.scalars(select(KbDecision).where(KbDecision.conversation_id == conv.id)))
    assert (rows[0].decision, rows[0].top_faq_id, rows[0].language) == ("answer", "en-shipping-01", "en")
    assert [r.decision for r in rows] == ["answer", none]
    assert session.scalar(select(KbDecision).where(KbDecision.conversation_id == "f" * 32)) is None
    pending.apply(session)  # what a report does before it reads (the rollup's marks applied)
    facts = session.get(ConversationFacts, conv.id)
    assert facts is not None
    assert (facts.kb_decisions, facts.kb_none) == (2, 1 if none == "none" else 0)
