"""Hand-off to a human: asking for one, complaints, and answering the bot's offers (yes / no)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ServiceError, crm_bridge
from actions.common import language_of, latest_intent, local_time, metadata_value
from actions.tickets_api import open_ticket, subject_from

log = logging.getLogger(__name__)

REASONS = {"customer_request", "complaint", "fallback", "negative_sentiment", "keyword", "ticket_status"}
# What an offer made in the previous bot turn was about; a "yes" acts on it, a "no" closes it.
OFFER_HUMAN = "human"
OFFER_HUMAN_OR_TICKET = "human_or_ticket"
OFFER_TICKET = "ticket"


def offer_events(offer: str, reason: str) -> list[EventType]:
    """Remember an offer for the customer's next answer."""
    return [SlotSet("pending_offer", offer), SlotSet("handoff_reason", reason)]


def tell_outcome(dispatcher: CollectingDispatcher, outcome: dict[str, Any], language: str) -> None:
    """Tell the customer what the escalation service decided."""
    kind = outcome.get("outcome")
    if kind == "queued":
        wait_s = outcome.get("estimated_wait_seconds")
        minutes = max(1, round(wait_s / 60)) if isinstance(wait_s, int | float) else "?"
        dispatcher.utter_message(
            response="utter_handoff_queued",
            queue_position=outcome.get("queue_position") or 1,
            wait_minutes=minutes,
        )
    elif kind == "assigned":
        dispatcher.utter_message(response="utter_handoff_assigned")
    elif kind == "offline":
        dispatcher.utter_message(
            response="utter_handoff_offline",
            ticket_number=outcome.get("ticket_number") or "—",
            reply_by=local_time(outcome.get("expected_reply_by"), language),
        )
    else:
        dispatcher.utter_message(response="utter_handoff_declined")


def escalate(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    reason: str,
    note: str | None = None,
    *,
    ticket_if_unavailable: bool = True,
) -> dict[str, Any] | None:
    """Ask crm_bridge for a human and tell the customer the outcome.

    When the escalation service cannot be reached, the request is not lost: a ticket carrying the
    conversation is created instead and the customer is told when to expect a reply."""
    language = language_of(tracker)
    conversation_id = metadata_value(tracker, "conversation_id")
    if reason not in REASONS:
        reason = "customer_request"
    try:
        if not conversation_id:
            raise ServiceError("no conversation id in the metadata")
        outcome = crm_bridge().escalate(conversation_id, reason, note)
    except ServiceError as exc:
        log.warning("escalation unavailable (%s)", exc)
        if not ticket_if_unavailable:
            return None
        try:
            ticket = open_ticket(
                tracker,
                purpose="handoff",
                subject=subject_from(note or "", "Customer asked for a human"),
                description=f"The customer asked for a human (reason: {reason}) and none could be reached.",
            )
        except ServiceError as exc2:
            log.warning("%s", exc2)
            dispatcher.utter_message(response="utter_handoff_failed")
            return None
        outcome = {
            "outcome": "offline",
            "escalated": False,
            "ticket_number": ticket["number"],
            "expected_reply_by": ticket["first_response_due_at"],
        }
    tell_outcome(dispatcher, outcome, language)
    return outcome


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


def offer_is_fresh(tracker: Tracker) -> bool:
    """Whether `pending_offer` was set in the bot turn just before the latest customer message."""
    users = [i for i, e in enumerate(tracker.events) if e.get("event") == "user"]
    if len(users) < 2:
        return False
    previous, latest = users[-2], users[-1]
    return any(
        e.get("event") == "slot" and e.get("name") == "pending_offer" and e.get("value")
        for e in tracker.events[previous:latest]
    )


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
            from actions.tickets import prepare_ticket_events

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
        """Reply to a complaint."""
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
