"""Steps several actions take: reading a yes or a no, making an offer, opening a ticket, asking for a human.

Feature modules (faq, tickets, handoff, feedback, contact) import this one and never each other.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ServiceError, crm_bridge
from actions.common import (
    contact_id_of,
    language_of,
    latest_intent,
    local_time,
    message_key,
    metadata_value,
)
from kefu_core.texts import say

log = logging.getLogger(__name__)

# --- Yes or no --------------------------------------------------------------------------------------------
# The NLU's affirm / deny intents decide first; these words catch a short reply Rasa took as a form's text.
YES, NO = "yes", "no"
_YES_WORDS = (
    r"y|yes+|yeah|yep|yup|ya|ok|okay|sure|correct|right|alright|confirm"
    r"|是|是的|对|对的|好|好的|好啊|行|确认|确定|可以|可以的|没错|没问题"
)
_NO_WORDS = (
    r"n|no+|nope|nah|n/?a|none|nothing|cancel|wrong|skip|no need|not needed|never ?mind"
    r"|不|不是|不对|不用|不用了|不要|不要了|不需要|不需要了|不必|不必了|暂时不用|先不用|取消|错了|算了|跳过"
    r"|没|没有|没有了|没有订单号?|无"
)
# A polite word after the answer ("no thanks", "好的，谢谢", "yes please") does not change it.
_TAIL = r"(?:[\s,，、]*(?:thanks|thank you|thx|please|谢谢|谢谢你|谢了|谢啦))?\s*[.!。！~～]*\s*"
_YES = re.compile(rf"^\s*(?:{_YES_WORDS}){_TAIL}$", re.IGNORECASE)
_NO = re.compile(rf"^\s*(?:{_NO_WORDS}){_TAIL}$", re.IGNORECASE)


def yes_or_no(text: str) -> str | None:
    """YES or NO when the whole reply is a yes or a no (English or Chinese), else None."""
    if _NO.match(text):
        return NO
    if _YES.match(text):
        return YES
    return None


def said_no(tracker: Tracker, value: Any) -> bool:
    """The customer declined: the deny intent (or a skip button), or a plain "no" in either language."""
    return latest_intent(tracker) == "deny" or yes_or_no(str(value or "")) == NO


def said_yes(tracker: Tracker, value: Any) -> bool:
    """The customer agreed: the affirm intent, or a plain "yes" in either language."""
    return latest_intent(tracker) == "affirm" or yes_or_no(str(value or "")) == YES


# --- Offers -----------------------------------------------------------------------------------------------
# What an offer made in the previous bot turn was about; a "yes" acts on it, a "no" closes it.
def reads_as_praise(sentiment: Any) -> bool:
    """Whether a message the NLU took for a complaint was positive: "not bad at all, delivery was quick" is
    praise, and a complaint needs a complaint (issue 20)."""
    return sentiment == "positive"


OFFER_HUMAN = "human"
OFFER_HUMAN_OR_TICKET = "human_or_ticket"
OFFER_TICKET = "ticket"


def offer_events(offer: str, reason: str) -> list[EventType]:
    """Remember an offer for the customer's next answer."""
    return [SlotSet("pending_offer", offer), SlotSet("handoff_reason", reason)]


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


# --- Tickets ----------------------------------------------------------------------------------------------
SUBJECT_MAX = 120
ON_FILE = "on_file"  # contact_detail when crm_bridge already has an email or a phone for the contact


def subject_from(text: str, fallback: str) -> str:
    """A one-line subject from what the customer wrote."""
    line = " ".join(text.split())
    if not line:
        return fallback
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


def open_ticket(
    tracker: Tracker, *, purpose: str, subject: str, description: str, priority: str = "normal"
) -> dict[str, Any]:
    """Create a ticket for this conversation's contact (idempotent per customer message)."""
    ticket: dict[str, Any] = {"subject": subject, "description": description, "priority": priority}
    contact_id = contact_id_of(tracker)
    if contact_id:
        ticket["contact_id"] = contact_id
    conversation_id = metadata_value(tracker, "conversation_id")
    if conversation_id:
        ticket["conversation_id"] = conversation_id
    return crm_bridge().create_ticket(ticket, idempotency_key=message_key(tracker, purpose))


def prepare_ticket_events(tracker: Tracker) -> list[EventType]:
    """Clear the ticket form and skip the contact question when crm_bridge already has an email or a phone."""
    events: list[EventType] = [
        SlotSet("problem_description", None),
        SlotSet("order_number", None),
        SlotSet("contact_detail", None),
        SlotSet("contact_on_file", False),
    ]
    contact_id = contact_id_of(tracker)
    if contact_id:
        try:
            contact = crm_bridge().get_contact(contact_id)
            if contact.get("email") or contact.get("phone"):
                events += [SlotSet("contact_detail", ON_FILE), SlotSet("contact_on_file", True)]
        except ServiceError as exc:
            log.warning("%s", exc)  # the form then asks; nothing is lost
    order = next(
        (e["value"] for e in tracker.latest_message.get("entities", []) if e["entity"] == "order_number"),
        None,
    )
    if order:
        events.append(SlotSet("order_number", str(order)))
    return events


# --- A human ----------------------------------------------------------------------------------------------
REASONS = {"customer_request", "complaint", "fallback", "negative_sentiment", "keyword", "ticket_status"}


def tell_outcome(dispatcher: CollectingDispatcher, outcome: dict[str, Any], language: str) -> None:
    """Tell the customer what the escalation service decided."""
    kind = outcome.get("outcome")
    if kind == "queued":
        wait_s = outcome.get("estimated_wait_seconds")
        minutes = (
            max(1, round(wait_s / 60)) if isinstance(wait_s, int | float) else say("unknown_wait", language)
        )
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
            ticket_number=outcome.get("ticket_number") or say("no_value", language),
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
            # Subject and description are for the agents, who read English (like crm_bridge's tickets).
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
