"""Feedback when a conversation ends: a 1-5 rating (buttons), an optional comment, stored in crm_bridge."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients import ServiceError, crm_bridge
from actions.common import contact_id_of, metadata_value
from actions.steps import said_no

log = logging.getLogger(__name__)

SKIP = "skip"
NONE = "none"
_DIGIT = re.compile(r"(?<!\d)([1-5])(?!\d)")
_HAN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_HAN_RATING = re.compile(r"([一二两三四五])\s*(分|星|颗星)")


def parse_rating(text: str) -> int | None:
    """1-5 from "5", "4 stars", "五星", "给3分"; None otherwise."""
    found = _DIGIT.search(text)
    if found:
        return int(found.group(1))
    han = _HAN_RATING.search(text)
    return _HAN_DIGITS[han.group(1)] if han else None


def _asked_twice(tracker: Tracker) -> bool:
    """The bot's last message already said the rating was not understood."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return bool((event.get("metadata") or {}).get("utter_action") == "utter_invalid_rating")
    return False


class ValidateFeedbackForm(FormValidationAction):
    """Checks the rating and the comment."""

    def name(self) -> str:
        """Action name in the domain."""
        return "validate_feedback_form"

    def validate_rating(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A rating from 1 to 5; "skip"/"no" ends the form; one retry, then the form lets go (no loop)."""
        text = str(slot_value or "")
        if said_no(tracker, text):
            return {"rating": SKIP, "feedback_comment": SKIP}
        rating = parse_rating(text)
        if rating is not None:
            return {"rating": str(rating)}
        if _asked_twice(tracker):
            return {"rating": SKIP, "feedback_comment": SKIP}
        dispatcher.utter_message(response="utter_invalid_rating")
        return {"rating": None}

    def validate_feedback_comment(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any text; "no" means no comment."""
        text = str(slot_value or "").strip()
        if slot_value == SKIP:
            return {"feedback_comment": SKIP}
        if said_no(tracker, text) or not text or text.startswith("/"):
            return {"feedback_comment": NONE}
        return {"feedback_comment": text[:5000]}


class ActionSubmitFeedback(Action):
    """POST /api/v1/feedback, thank the customer and say goodbye."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_submit_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Store the rating (if any) and close."""
        reset: list[EventType] = [SlotSet("rating", None), SlotSet("feedback_comment", None)]
        rating = str(tracker.get_slot("rating") or SKIP)
        if rating.isdigit():
            comment = tracker.get_slot("feedback_comment")
            feedback: dict[str, Any] = {
                "rating": int(rating),
                "comment": comment if comment not in (None, NONE, SKIP) else None,
                "conversation_id": metadata_value(tracker, "conversation_id"),
                "contact_id": contact_id_of(tracker),
            }
            try:
                crm_bridge().create_feedback(feedback)
                dispatcher.utter_message(response="utter_feedback_thanks")
            except ServiceError as exc:
                log.warning("%s", exc)
        dispatcher.utter_message(response="utter_goodbye")
        return reset
