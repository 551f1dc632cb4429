"""Tickets: the ticket form (problem, contact detail, order number) and the ticket status."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients import ServiceError, crm_bridge
from actions.common import contact_id_of, language_of, local_time, parse_contact_detail
from actions.steps import (
    OFFER_TICKET,
    ON_FILE,
    escalate,
    open_ticket,
    prepare_ticket_events,
    said_no,
    subject_from,
)
from kefu_core.texts import say

log = logging.getLogger(__name__)

NONE = "none"  # the customer has no order number / gives no contact detail
# 6-12 digits, but not a Chinese mobile number (11 digits starting 13-19)
_ORDER = re.compile(r"(?<![A-Za-z0-9-])(?!1[3-9]\d{9}(?![0-9]))\d{6,12}(?![0-9])")
_TICKET = re.compile(r"[Tt]-(\d{6,})")
OPEN_STATUSES = ("new", "open", "pending")
STATUSES = (*OPEN_STATUSES, "resolved", "closed")  # each has a `status_<name>` text in kefu_core.texts


class ActionPrepareTicket(Action):
    """Before the ticket form: what crm_bridge already knows about the contact."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_prepare_ticket"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Prefill the contact detail and an order number mentioned in the request."""
        return prepare_ticket_events(tracker)


class ValidateTicketForm(FormValidationAction):
    """Checks each answer of the ticket form."""

    def name(self) -> str:
        """Action name in the domain."""
        return "validate_ticket_form"

    def validate_problem_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any non-blank description."""
        text = str(slot_value or "").strip()
        if not text or text.startswith("/"):
            return {"problem_description": None}
        return {"problem_description": text[:5000]}

    def validate_contact_detail(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An email address or a valid phone number (a "no" files the ticket without one)."""
        if slot_value == ON_FILE:
            return {"contact_detail": ON_FILE}
        if said_no(tracker, slot_value):
            return {"contact_detail": NONE}
        parsed = parse_contact_detail(str(slot_value or ""))
        if parsed is None:
            dispatcher.utter_message(response="utter_invalid_contact_detail")
            return {"contact_detail": None}
        return {"contact_detail": parsed[1]}

    def validate_order_number(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """6 to 12 digits, or "no"."""
        if said_no(tracker, slot_value) or slot_value == NONE:
            return {"order_number": NONE}
        found = _ORDER.search(str(slot_value or ""))
        if not found:
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {"order_number": None}
        return {"order_number": found.group(0)}


def _reset_ticket_form() -> list[EventType]:
    return [
        SlotSet("problem_description", None),
        SlotSet("contact_detail", None),
        SlotSet("order_number", None),
        SlotSet("contact_on_file", None),
    ]


class ActionCreateTicket(Action):
    """Save a new contact detail, create the ticket, tell its number and the SLA promise."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_create_ticket"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Create the ticket from the form's slots."""
        language = language_of(tracker)
        problem = str(tracker.get_slot("problem_description") or "").strip()
        detail = tracker.get_slot("contact_detail")
        order = tracker.get_slot("order_number")
        contact_id = contact_id_of(tracker)
        if contact_id and detail not in (None, ON_FILE, NONE):
            parsed = parse_contact_detail(str(detail))
            if parsed:
                try:
                    crm_bridge().update_contact(contact_id, {parsed[0]: parsed[1]})
                except ServiceError as exc:
                    log.warning("%s", exc)  # the ticket still carries the detail in its description
        # The description is for the agents, who read English (the customer's words are kept as written).
        lines = [problem]
        if order and order != NONE:
            lines.append(f"Order number: {order}")
        if detail not in (None, ON_FILE, NONE):
            lines.append(f"Contact: {detail}")
        lines.append("Opened by the assistant in chat.")
        try:
            ticket = open_ticket(
                tracker,
                purpose="ticket",
                subject=subject_from(problem, "Support request"),
                description="\n".join(lines),
            )
        except ServiceError as exc:
            log.warning("%s", exc)
            dispatcher.utter_message(response="utter_ticket_failed")
            return _reset_ticket_form()
        dispatcher.utter_message(
            response="utter_ticket_created",
            ticket_number=ticket["number"],
            reply_by=local_time(ticket["first_response_due_at"], language),
            resolve_by=local_time(ticket["resolution_due_at"], language),
        )
        return [*_reset_ticket_form(), SlotSet("ticket_number", ticket["number"])]


class ActionTicketStatus(Action):
    """A ticket's status: the number the customer gave, else their latest open ticket."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_ticket_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Look the ticket up, tell its status, and let the escalation service decide about a human."""
        language = language_of(tracker)
        contact_id = contact_id_of(tracker)
        number = self._number_in_message(tracker)
        try:
            ticket = self._find(number, contact_id)
        except ServiceError as exc:
            log.warning("%s", exc)
            dispatcher.utter_message(response="utter_service_error")
            return []
        if ticket is None and number:
            dispatcher.utter_message(response="utter_ticket_not_found", ticket_number=number)
            return []
        if ticket is None:
            dispatcher.utter_message(response="utter_no_open_ticket")
            return [SlotSet("pending_offer", OFFER_TICKET)]
        status = str(ticket["status"])
        status_text = say(f"status_{status}", language) if status in STATUSES else status
        if status in OPEN_STATUSES and not ticket.get("first_responded_at"):
            due = local_time(ticket["first_response_due_at"], language)
            status_text += say("reply_expected", language, due=due)
        dispatcher.utter_message(
            response="utter_ticket_status",
            ticket_number=ticket["number"],
            subject=ticket["subject"],
            status_text=status_text,
        )
        if ticket["status"] in OPEN_STATUSES:
            self._maybe_escalate(dispatcher, tracker, ticket["number"])
        return [SlotSet("ticket_number", ticket["number"])]

    @staticmethod
    def _number_in_message(tracker: Tracker) -> str | None:
        for entity in tracker.latest_message.get("entities", []):
            if entity.get("entity") == "ticket_number":
                return str(entity["value"]).upper()
        found = _TICKET.search(tracker.latest_message.get("text") or "")
        return f"T-{found.group(1)}" if found else None

    @staticmethod
    def _find(number: str | None, contact_id: int | None) -> dict[str, Any] | None:
        if number:
            ticket = crm_bridge().get_ticket(number)
            # Only the customer's own tickets: another contact's ticket is "not found", never shown.
            if ticket is None or contact_id is None or ticket.get("contact_id") != contact_id:
                return None
            return ticket
        if contact_id is None:
            return None
        for ticket in crm_bridge().contact_tickets(contact_id):
            if ticket["status"] in OPEN_STATUSES:
                return ticket
        return None

    @staticmethod
    def _maybe_escalate(dispatcher: CollectingDispatcher, tracker: Tracker, number: str) -> None:
        """The escalation service decides (only VIPs get a human for a ticket); "declined" is silent."""
        probe = CollectingDispatcher()
        outcome = escalate(
            probe, tracker, "ticket_status", note=f"asked about ticket {number}", ticket_if_unavailable=False
        )
        if outcome and outcome.get("outcome") in ("queued", "assigned"):
            dispatcher.messages.extend(probe.messages)
