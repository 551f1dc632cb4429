"""action_answer_faq: answer from the knowledge base, offer choices, or admit not knowing (no loops)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ServiceError, crm_bridge
from actions.common import language_of, metadata_value
from actions.steps import OFFER_HUMAN, OFFER_HUMAN_OR_TICKET, offer_events

log = logging.getLogger(__name__)

MISSES_BEFORE_OFFER = 2


def misses_so_far(tracker: Tracker) -> int:
    """Knowledge-base misses in a row before this message: counted only if the bot's last action was ours."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") not in ("action_listen", None):
            if event.get("name") != "action_answer_faq":
                return 0
            break
    value = tracker.get_slot("fallback_misses")
    return int(value) if isinstance(value, int | float) else 0


class ActionAnswerFaq(Action):
    """Ask the knowledge base and act on its decision (answer / clarify / none), with the fallback chain."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Reply to the latest user message."""
        question = (tracker.latest_message.get("text") or "").strip()
        language = language_of(tracker)
        negative = tracker.get_slot("sentiment") == "negative"
        if negative:
            dispatcher.utter_message(response="utter_empathy")
        if not question:
            dispatcher.utter_message(response="utter_faq_none")
            return []
        try:
            conversation_id = metadata_value(tracker, "conversation_id")
            verdict = crm_bridge().search_faq(question, language, conversation_id=conversation_id)
        except ServiceError as exc:
            log.warning("%s", exc)
            dispatcher.utter_message(response="utter_kb_unavailable")
            return []
        events: list[EventType] = []
        if verdict.decision == "answer" and verdict.results:
            dispatcher.utter_message(text=verdict.results[0]["answer"])
            events.append(SlotSet("fallback_misses", 0))
        elif verdict.decision == "clarify" and verdict.results:
            # The payload is the suggested question itself: a click asks it, and it then matches exactly.
            buttons = [{"title": r["question"], "payload": r["question"]} for r in verdict.results[:3]]
            dispatcher.utter_message(response="utter_faq_clarify", buttons=buttons)
            events.append(SlotSet("fallback_misses", 0))
        else:
            misses = misses_so_far(tracker) + 1
            if misses >= MISSES_BEFORE_OFFER:
                # Two misses in a row: stop guessing and offer a way out (the counter starts again).
                dispatcher.utter_message(response="utter_offer_human_or_ticket")
                return [SlotSet("fallback_misses", 0), *offer_events(OFFER_HUMAN_OR_TICKET, "fallback")]
            dispatcher.utter_message(response="utter_faq_none_suggest")
            events.append(SlotSet("fallback_misses", misses))
        if negative:
            dispatcher.utter_message(response="utter_offer_human")
            events += offer_events(OFFER_HUMAN, "negative_sentiment")
        return events
