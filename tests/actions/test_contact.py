"""Update my contact details: validation, confirmation and the PATCH through crm_bridge."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CrmBridgeClient
from actions.contact import ActionUpdateContact, ValidateContactForm
from tests.actions.conftest import responses, slots_set, tracker


def _validate(slot: str, value: str, intent: str = "", language: str = "en") -> tuple[dict[str, Any], list]:
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateContactForm(), f"validate_{slot}")
    result = method(value, dispatcher, tracker(value, intent, language=language), {})
    return result, responses(dispatcher)


def test_new_detail_is_validated_and_named_in_the_customers_language() -> None:
    assert _validate("new_contact_detail", "New@Example.com") == (
        {"new_contact_detail": "new@example.com", "contact_field": "email address"},
        [],
    )
    assert _validate("new_contact_detail", "13800138000", language="zh") == (
        {"new_contact_detail": "+8613800138000", "contact_field": "手机号"},
        [],
    )
    assert _validate("new_contact_detail", "my new one") == (
        {"new_contact_detail": None},
        ["utter_invalid_contact_detail"],
    )


def test_no_cancels_and_confirmation_needs_yes_or_no() -> None:
    assert _validate("new_contact_detail", "算了", "deny", "zh")[0]["confirm_contact_update"] == "no"
    assert _validate("confirm_contact_update", "yes", "affirm") == ({"confirm_contact_update": "yes"}, [])
    assert _validate("confirm_contact_update", "/affirm", "affirm") == ({"confirm_contact_update": "yes"}, [])
    assert _validate("confirm_contact_update", "确认", language="zh") == (
        {"confirm_contact_update": "yes"},
        [],
    )
    assert _validate("confirm_contact_update", "不对", language="zh") == (
        {"confirm_contact_update": "no"},
        [],
    )
    assert _validate("confirm_contact_update", "maybe later?") == (
        {"confirm_contact_update": None},
        ["utter_please_confirm"],
    )


def test_confirmed_change_is_saved(crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient) -> None:
    slots = {
        "new_contact_detail": "fresh@example.com",
        "confirm_contact_update": "yes",
        "contact_field": "email",
    }
    dispatcher = CollectingDispatcher()
    events = ActionUpdateContact().run(dispatcher, tracker("yes", "affirm", chat=chat, slots=slots), {})
    assert responses(dispatcher) == ["utter_contact_updated"]
    assert dispatcher.messages[0]["new_contact_detail"] == "fresh@example.com"
    assert slots_set(events) == {
        "new_contact_detail": None,
        "confirm_contact_update": None,
        "contact_field": None,
    }
    assert service.get(f"/api/v1/contacts/{chat['contact_id']}").json()["email"] == "fresh@example.com"


def test_declined_change_is_not_saved(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    before = service.get(f"/api/v1/contacts/{chat['contact_id']}").json()["email"]
    slots = {"new_contact_detail": "other@example.com", "confirm_contact_update": "no"}
    dispatcher = CollectingDispatcher()
    ActionUpdateContact().run(dispatcher, tracker("no", "deny", chat=chat, slots=slots), {})
    assert responses(dispatcher) == ["utter_contact_update_cancelled"]
    assert service.get(f"/api/v1/contacts/{chat['contact_id']}").json()["email"] == before
