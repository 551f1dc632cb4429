"""Recording that a customer was asked for a rating: the response rate's denominator.

Two places ask: the bot's feedback form (its 1-5 buttons, bot/domain.yml `utter_ask_rating`, reaching
every channel through crm_bridge/turns/respond.py) and the widget's stars after an agent resolves a chat
(crm_bridge/escalation/lifecycle.py). Rasa's REST replies do not name the response they came from, so a
bot prompt is known by its buttons; tests/crm_bridge/feedback/test_surveys.py keeps this in step with
the domain file, so the Rasa model need not change for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from crm_bridge.feedback.loop_models import OfferedVia, SurveyOffer
from kefu_core.db import utcnow

# The payloads of the rating buttons (a "skip" button may sit beside them).
RATING_PAYLOADS = frozenset({"1", "2", "3", "4", "5"})


def is_rating_prompt(buttons: Iterable[Mapping[str, str]]) -> bool:
    """True when a bot message carries the five rating buttons."""
    return {str(button.get("payload", "")).strip() for button in buttons} >= RATING_PAYLOADS


def record_offer(
    session: Session, *, conversation_id: str, via: OfferedVia, at: datetime | None = None
) -> SurveyOffer:
    """Store one offer (the caller commits, with the message or status change that made it)."""
    offer = SurveyOffer(conversation_id=conversation_id, via=via, offered_at=at or utcnow())
    session.add(offer)
    return offer


def record_if_rating_prompt(
    session: Session, *, conversation_id: str, buttons: Iterable[Mapping[str, str]]
) -> bool:
    """Record an offer when a bot reply is the rating prompt; True when it was."""
    if not is_rating_prompt(buttons):
        return False
    record_offer(session, conversation_id=conversation_id, via=OfferedVia.bot)
    return True
