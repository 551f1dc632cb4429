"""Answering one stored customer message: stay silent for a human, hand over, or ask Rasa and store
its replies (a queue worker runs it for every channel's turns; the caller reads the replies by
`reply_to_id`)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation import lifecycle as escalation
from crm_bridge.feedback import surveys
from crm_bridge.observability.metrics import observe_stage
from crm_bridge.rasa_client import RasaClient
from crm_bridge.realtime.events import emit_message
from kefu_core.language import LANGUAGES
from kefu_core.texts import say
from sentiment.runtime import rasa_metadata

log = logging.getLogger("kefu.chat")

# The reply when Rasa cannot be reached, per language (the agent packet recognises these texts).
UNAVAILABLE = {language: say("assistant_unavailable", language) for language in LANGUAGES}


def respond(
    session: Session,
    rasa: RasaClient,
    conversation: Conversation,
    customer: Message,
    *,
    metadata: dict[str, Any],
) -> None:
    """Answer a stored customer message: stay silent for a human, hand over on a trigger, or ask Rasa
    and store its replies. Commits once at the end; raises RasaUnavailable having stored nothing."""
    if conversation.status is ConversationStatus.queued and escalation.release_unstaffed(session):
        session.commit()  # hours ended or the last agent left: a ticket instead of an endless wait
        return
    if conversation.status in (ConversationStatus.queued, ConversationStatus.agent):
        session.commit()  # a human owns the chat: the bot stays silent
        return

    # Triggers crm_bridge decides itself (keywords, sentiment) hand over before the bot answers.
    def collecting() -> bool:  # asked only when a sentiment trigger would fire: one call to Rasa
        return rasa.active_loop(conversation.id) is not None

    if escalation.auto_escalate(session, conversation, customer, bot_collecting=collecting) is not None:
        session.commit()
        return

    language = customer.language or conversation.language or "en"
    rasa_metadata_out = {
        **metadata,
        "conversation_id": conversation.id,
        "contact_id": conversation.contact_id,
        "language": language,
        "channel": conversation.channel,
        **rasa_metadata(customer),
    }
    with observe_stage("rasa"):  # one HTTP call: Rasa with the custom actions it runs meanwhile
        replies = rasa.send(sender=conversation.id, text=customer.text, metadata=rasa_metadata_out)
    with observe_stage("commit"):  # the replies stored, then published to the sockets after the commit
        for reply in replies:
            message = conversations.add_message(
                session,
                conversation=conversation,
                role=MessageRole.bot,
                text=reply.text,
                language=language,
                buttons=reply.buttons,
            )
            surveys.record_if_rating_prompt(session, conversation_id=conversation.id, buttons=reply.buttons)
            emit_message(session, conversation, message)
        session.commit()


def tell_unavailable(session: Session, conversation: Conversation, language: str | None) -> Message:
    """Store (and send to the sockets) the "assistant temporarily unavailable" message; caller commits."""
    told = conversations.add_message(
        session,
        conversation=conversation,
        role=MessageRole.system,
        text=say("assistant_unavailable", language),
        language=language,
    )
    emit_message(session, conversation, told)
    return told
