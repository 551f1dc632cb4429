"""Survey offers: the bot's rating prompt (known by its buttons, kept in step with bot/domain.yml) and
the widget's stars after an agent resolves a chat are recorded, the response rate's denominator."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation import lifecycle
from crm_bridge.feedback import surveys
from crm_bridge.feedback.loop_models import OfferedVia, SurveyOffer
from crm_bridge.rasa_client import BotReply, RasaClient
from crm_bridge.turns.respond import respond
from crm_bridge.users.models import Role, User

DOMAIN = Path(__file__).resolve().parents[3] / "bot" / "domain.yml"


def _responses() -> dict[str, list[dict[str, Any]]]:
    responses: dict[str, list[dict[str, Any]]] = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))[
        "responses"
    ]
    return responses


def test_the_domain_rating_prompt_is_recognised_and_nothing_else() -> None:
    responses = _responses()
    for variant in responses["utter_ask_rating"]:  # every language's prompt
        assert surveys.is_rating_prompt(variant["buttons"])
    others = [
        name
        for name, variants in responses.items()
        if name != "utter_ask_rating"
        and any(surveys.is_rating_prompt(v.get("buttons") or []) for v in variants)
    ]
    assert others == []
    assert not surveys.is_rating_prompt([{"title": "Yes", "payload": "/affirm"}])
    assert not surveys.is_rating_prompt([])


def _conversation(session: Session, channel: str, status: ConversationStatus) -> Conversation:
    contact = Contact(name=f"survey-{uuid.uuid4().hex[:6]}")
    session.add(contact)
    session.flush()
    conversation = Conversation(contact_id=contact.id, channel=channel, language="en", status=status)
    session.add(conversation)
    session.commit()
    return conversation


def _offers(session: Session, conversation_id: str) -> list[OfferedVia]:
    return list(
        session.scalars(select(SurveyOffer.via).where(SurveyOffer.conversation_id == conversation_id))
    )


class _PromptingRasa(RasaClient):
    """Rasa answering with the domain's own rating prompt (the form's first question)."""

    def send(self, *, sender: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        prompt = _responses()["utter_ask_rating"][-1]
        return [BotReply(text="Thanks!"), BotReply(text=prompt["text"], buttons=prompt["buttons"])]


def test_the_bot_prompt_records_one_offer(session: Session) -> None:
    conversation = _conversation(session, "telegram", ConversationStatus.bot)
    customer = Message(
        conversation_id=conversation.id, role=MessageRole.customer, text="bye", channel="telegram"
    )
    session.add(customer)
    session.commit()
    rasa = _PromptingRasa("http://127.0.0.1:9")
    try:
        respond(session, rasa, conversation, customer, metadata={})
    finally:
        rasa.close()
    assert _offers(session, conversation.id) == [OfferedVia.bot]


def test_resolving_a_widget_chat_records_an_offer(session: Session) -> None:
    agent = User(username=f"survey-{uuid.uuid4().hex[:8]}", password_hash="x", role=Role.agent)
    session.add(agent)
    session.flush()
    for channel, expected in (("web", [OfferedVia.widget]), ("telegram", [])):
        conversation = _conversation(session, channel, ConversationStatus.agent)
        conversation.assignee_id = agent.id
        lifecycle.resolve(session, conversation=conversation, user_id=agent.id, is_admin=False)
        session.commit()
        assert _offers(session, conversation.id) == expected  # only the widget shows the stars
