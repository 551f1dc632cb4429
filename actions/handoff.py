"""Hand-off to a human: asking for one, complaints, and answering the bot's offers (yes / no)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ServiceError
from actions.common import language_of, latest_intent, local_time
from actions.steps import (
    OFFER_HUMAN,
    OFFER_HUMAN_OR_TICKET,
    OFFER_TICKET,
    escalate,
    offer_events,
    offer_is_fresh,
    open_ticket,
    prepare_ticket_events,
    reads_as_praise,
    subject_from,
)

log = logging.getLogger(__name__)


class ActionRequestHuman(Action):
    """The customer asked for a human (or accepted the offer of one)."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_request_human"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Escalate with the reason of the offer the customer accepted, else `customer_request`."""
        reason = str(tracker.get_slot("handoff_reason") or "customer_request")
        if tracker.get_slot("pending_offer") not in (
            OFFER_HUMAN,
            OFFER_HUMAN_OR_TICKET,
        ) or not offer_is_fresh(tracker):
            reason = "customer_request"
        escalate(dispatcher, tracker, reason, note=None)
        return [
            SlotSet("pending_offer", None),
            SlotSet("handoff_reason", None),
            SlotSet("fallback_misses", 0),
        ]


class ActionResolveOffer(Action):
    """A plain "yes" or "no": act on the offer the bot just made, if any."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_resolve_offer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Yes to a human → escalate; yes to a ticket → the ticket form; no → anything else?"""
        offer = tracker.get_slot("pending_offer") if offer_is_fresh(tracker) else None
        reset: list[EventType] = [SlotSet("pending_offer", None)]
        if latest_intent(tracker) == "affirm" and offer in (OFFER_HUMAN, OFFER_HUMAN_OR_TICKET):
            reason = str(tracker.get_slot("handoff_reason") or "customer_request")
            escalate(dispatcher, tracker, reason)
            return [*reset, SlotSet("handoff_reason", None), SlotSet("fallback_misses", 0)]
        if latest_intent(tracker) == "affirm" and offer == OFFER_TICKET:
            # Same path as asking for a ticket: prefill the contact, then the form.
            return [*reset, *prepare_ticket_events(tracker), {"event": "followup", "name": "ticket_form"}]
        dispatcher.utter_message(response="utter_anything_else")
        return [*reset, SlotSet("handoff_reason", None)]


class ActionHandleComplaint(Action):
    """Apologise, file a high-priority ticket, offer a human."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_handle_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Reply to a complaint; thank a positive message instead (no apology, no ticket)."""
        # This message's own label, not the slot: a slot can still hold an earlier message's.
        if reads_as_praise((tracker.latest_message.get("metadata") or {}).get("sentiment")):
            dispatcher.utter_message(response="utter_thanks")
            return []
        language = language_of(tracker)
        text = (tracker.latest_message.get("text") or "").strip()
        dispatcher.utter_message(response="utter_complaint_apology")
        try:
            ticket = open_ticket(
                tracker,
                purpose="complaint",
                subject=subject_from(text, "Complaint"),
                description=f"Complaint received in chat:\n{text}",
                priority="high",
            )
            dispatcher.utter_message(
                response="utter_complaint_ticket",
                ticket_number=ticket["number"],
                reply_by=local_time(ticket["first_response_due_at"], language),
            )
        except ServiceError as exc:
            log.warning("%s", exc)
            dispatcher.utter_message(response="utter_ticket_failed")
        dispatcher.utter_message(response="utter_offer_human")
        return offer_events(OFFER_HUMAN, "complaint")
