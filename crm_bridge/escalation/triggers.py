"""The triggers crm_bridge evaluates itself on each customer message: a keyword, then negative sentiment."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.escalation.models import Reason
from kefu_core.settings import get_settings


def decide(
    text: str,
    label: str | None,
    score: float | None,
    previous_label: Callable[[], str | None],
    *,
    keywords: Iterable[str],
    threshold: float,
) -> Reason | None:
    """A keyword (lower case) in the text; else a negative message scored at or below `threshold`, or
    following another negative one. `previous_label` costs a query, so it is asked only when it decides."""
    lowered = text.lower()
    if any(keyword in lowered for keyword in keywords):
        return Reason.keyword
    if label != "negative":
        return None
    if score is not None and score <= threshold:
        return Reason.negative_sentiment
    return Reason.negative_sentiment if previous_label() == "negative" else None


def automatic_trigger(session: Session, conversation: Conversation, message: Message) -> Reason | None:
    """The trigger a customer message sets off, by the configured keywords and sentiment threshold."""
    settings = get_settings()

    def previous_label() -> str | None:
        return session.scalars(
            select(Message.sentiment_label)
            .where(
                Message.conversation_id == conversation.id,
                Message.role == MessageRole.customer,
                Message.id < message.id,
            )
            .order_by(Message.id.desc())
        ).first()

    return decide(
        message.text,
        message.sentiment_label,
        message.sentiment_score,
        previous_label,
        keywords=settings.keyword_list,
        threshold=settings.negative_sentiment_threshold,
    )
