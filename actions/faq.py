"""action_answer_faq: answer from the knowledge base, offer choices, or admit not knowing."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ServiceError, crm_bridge
from actions.common import language_of

log = logging.getLogger(__name__)


class ActionAnswerFaq(Action):
    """Ask the knowledge base and act on its decision (answer / clarify / none)."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Reply to the latest user message."""
        question = (tracker.latest_message.get("text") or "").strip()
        language = language_of(tracker)
        if not question:
            dispatcher.utter_message(response="utter_faq_none")
            return []
        try:
            conversation_id = (tracker.latest_message.get("metadata") or {}).get("conversation_id")
            verdict = crm_bridge().search_faq(question, language, conversation_id=conversation_id)
        except ServiceError as exc:
            log.warning("%s", exc)
            dispatcher.utter_message(response="utter_kb_unavailable")
            return []
        if verdict.decision == "answer" and verdict.results:
            dispatcher.utter_message(text=verdict.results[0]["answer"])
        elif verdict.decision == "clarify" and verdict.results:
            # The payload is the suggested question itself: a click asks it, and it then matches exactly.
            buttons = [{"title": r["question"], "payload": r["question"]} for r in verdict.results[:3]]
            dispatcher.utter_message(response="utter_faq_clarify", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_faq_none")
        return []
