"""Update my contact details: a form (new email or phone, then a confirmation) and the save."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clients import ServiceError, crm_bridge
from actions.common import contact_id_of, language_of, parse_contact_detail
from actions.steps import NO, YES, said_no, said_yes
from kefu_core.texts import say

log = logging.getLogger(__name__)

FIELDS = ("email", "phone")  # what parse_contact_detail finds; each has a `field_<name>` text


def field_name(field: str, language: str) -> str:
    """How the customer calls a contact field ("email address", "手机号")."""
    return say(f"field_{field}", language) if field in FIELDS else field


class ValidateContactForm(FormValidationAction):
    """Checks the new contact detail and the confirmation."""

    def name(self) -> str:
        """Action name in the domain."""
        return "validate_contact_form"

    def validate_new_contact_detail(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An email address or a valid phone number; "no" cancels the change."""
        if said_no(tracker, slot_value):
            return {"new_contact_detail": "-", "confirm_contact_update": NO, "contact_field": None}
        parsed = parse_contact_detail(str(slot_value or ""))
        if parsed is None:
            dispatcher.utter_message(response="utter_invalid_contact_detail")
            return {"new_contact_detail": None}
        return {"new_contact_detail": parsed[1], "contact_field": field_name(parsed[0], language_of(tracker))}

    def validate_confirm_contact_update(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no (buttons, the intents, or the words)."""
        if slot_value == NO or said_no(tracker, slot_value):
            return {"confirm_contact_update": NO}
        if slot_value == YES or said_yes(tracker, slot_value):
            return {"confirm_contact_update": YES}
        dispatcher.utter_message(response="utter_please_confirm")
        return {"confirm_contact_update": None}


class ActionUpdateContact(Action):
    """Save the confirmed change through crm_bridge (PATCH /api/v1/contacts/{id})."""

    def name(self) -> str:
        """Action name in the domain."""
        return "action_update_contact"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """PATCH the contact, or say nothing changed."""
        reset: list[EventType] = [
            SlotSet("new_contact_detail", None),
            SlotSet("confirm_contact_update", None),
            SlotSet("contact_field", None),
        ]
        parsed = parse_contact_detail(str(tracker.get_slot("new_contact_detail") or ""))
        contact_id = contact_id_of(tracker)
        if tracker.get_slot("confirm_contact_update") != YES or parsed is None:
            dispatcher.utter_message(response="utter_contact_update_cancelled")
            return reset
        if contact_id is None:
            dispatcher.utter_message(response="utter_contact_update_failed")
            return reset
        try:
            crm_bridge().update_contact(contact_id, {parsed[0]: parsed[1]})
        except ServiceError as exc:
            log.warning("%s", exc)
            dispatcher.utter_message(response="utter_contact_update_failed")
            return reset
        dispatcher.utter_message(
            response="utter_contact_updated",
            new_contact_detail=parsed[1],
            contact_field=tracker.get_slot("contact_field") or field_name(parsed[0], language_of(tracker)),
        )
        return reset
