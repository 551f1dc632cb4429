"""Ticket form, ticket creation and ticket status against the real crm_bridge app and database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CrmBridgeClient
from actions.tickets import (
    NONE,
    ON_FILE,
    ActionCreateTicket,
    ActionPrepareTicket,
    ActionTicketStatus,
    ValidateTicketForm,
)
from tests.actions.conftest import responses, slots_set, tracker
from tests.helpers import run_async


def _validate(slot: str, value: Any, t: Any) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateTicketForm(), f"validate_{slot}")
    return method(value, dispatcher, t, {}), dispatcher


def test_prepare_asks_for_a_contact_detail_only_when_none_is_on_file(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    events = ActionPrepareTicket().run(CollectingDispatcher(), tracker("open a ticket", chat=chat), {})
    assert slots_set(events)["contact_detail"] is None
    assert slots_set(events)["contact_on_file"] is False

    service.patch(f"/api/v1/contacts/{chat['contact_id']}", json={"email": "known@example.com"})
    t = tracker(
        "ticket for order 88231904", chat=chat, entities=[{"entity": "order_number", "value": "88231904"}]
    )
    slots = slots_set(ActionPrepareTicket().run(CollectingDispatcher(), t, {}))
    assert slots["contact_detail"] == ON_FILE
    assert slots["contact_on_file"] is True
    assert slots["order_number"] == "88231904"


def test_contact_detail_validation() -> None:
    assert _validate("contact_detail", "me@example.com", tracker("me@example.com"))[0] == {
        "contact_detail": "me@example.com"
    }
    assert _validate("contact_detail", "138 0013 8000", tracker("138 0013 8000"))[0] == {
        "contact_detail": "+8613800138000"
    }
    result, dispatcher = _validate("contact_detail", "call me maybe", tracker("call me maybe"))
    assert result == {"contact_detail": None}
    assert responses(dispatcher) == ["utter_invalid_contact_detail"]
    assert _validate("contact_detail", "不用了", tracker("不用了", "deny", language="zh"))[0] == {
        "contact_detail": NONE
    }


def test_order_number_validation() -> None:
    assert _validate("order_number", "it's 20261105", tracker("it's 20261105"))[0] == {
        "order_number": "20261105"
    }
    assert _validate("order_number", "没有", tracker("没有", language="zh"))[0] == {"order_number": NONE}
    assert _validate("order_number", "/deny", tracker("/deny", "deny"))[0] == {"order_number": NONE}
    result, dispatcher = _validate("order_number", "abc", tracker("abc"))
    assert result == {"order_number": None}
    assert responses(dispatcher) == ["utter_invalid_order_number"]


def test_the_form_extracts_and_validates_through_rasa_sdk() -> None:
    # Rasa extracted the text into the slot (from_text); the form's validation runs on what was just set.
    extracted = [{"event": "slot", "name": "order_number", "value": "12345"}]
    t = tracker("12345", slots={"requested_slot": "order_number", "order_number": "12345"}, after=extracted)
    domain = {
        "forms": {"ticket_form": {"required_slots": ["problem_description", "order_number"]}},
        "slots": {},
    }
    dispatcher = CollectingDispatcher()
    events = run_async(ValidateTicketForm().run(dispatcher, t, domain))
    assert slots_set(events) == {"order_number": None}
    assert responses(dispatcher) == ["utter_invalid_order_number"]


def test_create_ticket_saves_the_contact_and_tells_number_and_sla(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    slots = {"problem_description": "The mug arrived broken", "contact_detail": "+8613800138000"}
    slots["order_number"] = "20261105"
    t = tracker("20261105", chat=chat, slots=slots)
    dispatcher = CollectingDispatcher()
    events = ActionCreateTicket().run(dispatcher, t, {})
    number = slots_set(events)["ticket_number"]
    assert responses(dispatcher) == ["utter_ticket_created"]
    message = dispatcher.messages[0]
    assert message["ticket_number"] == number
    assert "(UTC+00:00)" in message["reply_by"] and "(UTC+00:00)" in message["resolve_by"]
    assert slots_set(events)["problem_description"] is None

    ticket = service.get(f"/api/v1/tickets/{number}").json()
    assert ticket["subject"] == "The mug arrived broken"
    assert "Order number: 20261105" in ticket["description"]
    assert ticket["contact_id"] == chat["contact_id"]
    assert ticket["conversation_id"] == chat["conversation_id"]
    assert service.get(f"/api/v1/contacts/{chat['contact_id']}").json()["phone"] == "+8613800138000"

    # Rasa retrying the action for the same message creates no second ticket.
    again = CollectingDispatcher()
    assert slots_set(ActionCreateTicket().run(again, t, {}))["ticket_number"] == number


def test_chinese_ticket_times_are_written_in_chinese(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    slots = {"problem_description": "杯子碎了", "contact_detail": ON_FILE, "order_number": NONE}
    dispatcher = CollectingDispatcher()
    ActionCreateTicket().run(dispatcher, tracker("没有", chat=chat, slots=slots, language="zh"), {})
    assert "月" in dispatcher.messages[0]["reply_by"]


def _ticket(service: TestClient, contact_id: int, subject: str) -> str:
    body = {"subject": subject, "contact_id": contact_id}
    response = service.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def test_status_by_number_and_latest_open(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    number = _ticket(service, chat["contact_id"], "Refund missing")
    entity = [{"entity": "ticket_number", "value": number}]
    dispatcher = CollectingDispatcher()
    events = ActionTicketStatus().run(
        dispatcher, tracker(f"status of {number}", chat=chat, entities=entity), {}
    )
    assert responses(dispatcher) == ["utter_ticket_status"]
    assert dispatcher.messages[0]["ticket_number"] == number
    assert dispatcher.messages[0]["status_text"].startswith("received and waiting for a colleague")
    assert slots_set(events) == {"ticket_number": number}

    latest = _ticket(service, chat["contact_id"], "Second problem")
    dispatcher = CollectingDispatcher()
    ActionTicketStatus().run(dispatcher, tracker("我的工单怎么样了", chat=chat, language="zh"), {})
    assert dispatcher.messages[0]["ticket_number"] == latest
    assert dispatcher.messages[0]["status_text"].startswith("已受理")


def test_another_contacts_ticket_is_not_shown(
    crm: CrmBridgeClient,
    chat: dict[str, Any],
    service: TestClient,
    staff: TestClient,
) -> None:
    other = staff.post("/api/v1/contacts", json={"name": "Someone else"}).json()["id"]
    number = _ticket(service, other, "Private matter")
    dispatcher = CollectingDispatcher()
    ActionTicketStatus().run(dispatcher, tracker(f"check {number.lower()}", chat=chat), {})
    assert responses(dispatcher) == ["utter_ticket_not_found"]
    assert "Private matter" not in str(dispatcher.messages)


def test_no_open_ticket_offers_one(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = ActionTicketStatus().run(dispatcher, tracker("any update on my ticket?", chat=chat), {})
    assert responses(dispatcher) == ["utter_no_open_ticket"]
    assert slots_set(events) == {"pending_offer": "ticket"}
