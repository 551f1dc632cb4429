"""One customer turn: store, route to Rasa (or stay silent for a human), store the replies."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from crm_bridge.chat.schemas import ChatMessage, ChatRequest, ChatResponse
from crm_bridge.contacts import service as contacts
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.language import detect_language
from crm_bridge.conversations.models import ConversationStatus, Message, MessageRole
from crm_bridge.rasa_client import RasaClient, RasaUnavailable

log = logging.getLogger("kefu.chat")

UNAVAILABLE = {
    "en": "Sorry, the assistant is temporarily unavailable. Your message has been saved and we will get back "
    "to you as soon as possible.",
    "zh": "抱歉，智能助手暂时无法使用。您的消息已保存，我们会尽快回复您。",
}


def _out(message: Message) -> ChatMessage:
    return ChatMessage.model_validate(
        {"id": message.id, "role": message.role.value, "text": message.text, "buttons": message.buttons}
    )


def handle_turn(session: Session, rasa: RasaClient, request: ChatRequest) -> ChatResponse:
    """Process one customer message end to end."""
    language = detect_language(request.text)
    contact = contacts.resolve_identity(
        session, channel=request.channel, external_id=request.user_id, language=language
    )
    conversation = conversations.open_conversation(
        session, contact_id=contact.id, channel=request.channel, language=language
    )
    conversations.add_message(
        session, conversation=conversation, role=MessageRole.customer, text=request.text, language=language
    )
    # The customer's words are committed before Rasa is asked: a failure later loses nothing.
    session.commit()

    if conversation.status in (ConversationStatus.queued, ConversationStatus.agent):
        return ChatResponse(conversation_id=conversation.id, status=conversation.status, messages=[])

    metadata = {
        **request.metadata,
        "conversation_id": conversation.id,
        "contact_id": contact.id,
        "language": language,
        "channel": request.channel,
    }
    stored: list[Message] = []
    try:
        replies = rasa.send(sender=conversation.id, text=request.text, metadata=metadata)
        for reply in replies:
            stored.append(
                conversations.add_message(
                    session,
                    conversation=conversation,
                    role=MessageRole.bot,
                    text=reply.text,
                    language=language,
                    buttons=reply.buttons,
                )
            )
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable for conversation %s: %s", conversation.id, exc)
        stored.append(
            conversations.add_message(
                session,
                conversation=conversation,
                role=MessageRole.system,
                text=UNAVAILABLE.get(language, UNAVAILABLE["en"]),
                language=language,
            )
        )
    session.commit()
    return ChatResponse(
        conversation_id=conversation.id,
        status=conversation.status,
        messages=[_out(m) for m in stored],
    )
