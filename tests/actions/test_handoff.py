"""Hand-off: asking for a human, complaints, offers, against the real escalation endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.clients import CrmBridgeClient
from actions.handoff import ActionHandleComplaint, ActionRequestHuman, ActionResolveOffer
from actions.steps import tell_outcome
from actions.tickets import ActionTicketStatus
from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from tests.actions.conftest import responses, slots_set, tracker
from tests.helpers import kefu_env

OFFERED = [
    {"event": "slot", "name": "pending_offer", "value": "human"},
    {"event": "action", "name": "action_listen"},
]
EARLIER_USER = {"event": "user", "text": "earlier", "parse_data": {}}


@pytest.fixture
def online_agent(session: Session) -> Iterator[int]:
    """An agent who is online and speaks both languages (set offline again afterwards)."""
    user = users.create(
        session, username=f"agent-{uuid.uuid4().hex[:8]}", password="test password 1", role=Role.agent,
        languages=["en", "zh"], max_concurrent_chats=50,
    )  # fmt: skip
    user.online = True
    session.commit()
    try:
        yield user.id
    finally:
        user.online = False
        session.commit()


@pytest.fixture
def closed() -> Iterator[None]:
    """Outside business hours (a one-minute window at 00:00 on Sundays)."""
    with kefu_env(KEFU_BUSINESS_HOURS="Sun 00:00-00:01"):
        yield


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (
            {"outcome": "queued", "queue_position": 2, "estimated_wait_seconds": 600},
            ("utter_handoff_queued", 10),
        ),
        ({"outcome": "assigned"}, ("utter_handoff_assigned", None)),
        ({"outcome": "offline", "ticket_number": "T-000009"}, ("utter_handoff_offline", None)),
        ({"outcome": "declined"}, ("utter_handoff_declined", None)),
    ],
)
def test_outcome_wording(outcome: dict[str, Any], expected: tuple[str, int | None]) -> None:
    dispatcher = CollectingDispatcher()
    tell_outcome(dispatcher, outcome, "en")
    assert responses(dispatcher) == [expected[0]]
    if expected[1] is not None:
        assert dispatcher.messages[0]["wait_minutes"] == expected[1]


def test_outside_hours_a_ticket_is_created(
    crm: CrmBridgeClient,
    chat: dict[str, Any],
    service: TestClient,
    closed: None,
    staff: TestClient,
) -> None:
    dispatcher = CollectingDispatcher()
    events = ActionRequestHuman().run(dispatcher, tracker("talk to a human", "request_human", chat=chat), {})
    assert responses(dispatcher) == ["utter_handoff_offline"]
    number = dispatcher.messages[0]["ticket_number"]
    ticket = service.get(f"/api/v1/tickets/{number}").json()
    assert ticket["conversation_id"] == chat["conversation_id"]
    assert "(customer_request)" in ticket["subject"]
    assert slots_set(events)["pending_offer"] is None
    assert staff.get(f"/api/v1/conversations/{chat['conversation_id']}").json()["status"] == "bot"


def test_with_an_agent_online_the_customer_is_queued(
    crm: CrmBridgeClient,
    chat: dict[str, Any],
    service: TestClient,
    online_agent: int,
    staff: TestClient,
) -> None:
    dispatcher = CollectingDispatcher()
    ActionRequestHuman().run(dispatcher, tracker("人工", "request_human", chat=chat, language="zh"), {})
    assert responses(dispatcher) == ["utter_handoff_queued"]
    assert dispatcher.messages[0]["queue_position"] >= 1
    assert dispatcher.messages[0]["wait_minutes"] >= 1
    assert staff.get(f"/api/v1/conversations/{chat['conversation_id']}").json()["status"] == "queued"


def test_complaint_apologises_files_a_high_priority_ticket_and_offers_a_human(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("The courier was rude and my parcel is late", "complain", chat=chat)
    events = ActionHandleComplaint().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_complaint_apology", "utter_complaint_ticket", "utter_offer_human"]
    ticket = service.get(f"/api/v1/tickets/{dispatcher.messages[1]['ticket_number']}").json()
    assert ticket["priority"] == "high"
    assert "courier was rude" in ticket["description"]
    assert slots_set(events) == {"pending_offer": "human", "handoff_reason": "complaint"}


def test_a_positive_message_taken_for_a_complaint_is_thanked_without_a_ticket(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    # Issue 20: "not bad at all, delivery was quick" opened an urgent ticket; a complaint needs a complaint.
    before = service.get("/api/v1/tickets", params={"limit": 200}).json()["total"]
    dispatcher = CollectingDispatcher()
    t = tracker("not bad at all, delivery was quick", "complain", chat=chat)
    t.latest_message["metadata"]["sentiment"] = "positive"
    events = ActionHandleComplaint().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_thanks"]
    assert events == []
    assert service.get("/api/v1/tickets", params={"limit": 200}).json()["total"] == before


def test_a_stale_positive_slot_does_not_hide_a_real_complaint(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient
) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(
        "the courier threw my parcel over the fence", "complain", chat=chat, slots={"sentiment": "positive"}
    )
    t.latest_message["metadata"]["sentiment"] = "negative"
    ActionHandleComplaint().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_complaint_apology", "utter_complaint_ticket", "utter_offer_human"]


def test_yes_to_the_offer_escalates_with_the_offers_reason(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient, closed: None
) -> None:
    t = tracker(
        "yes please", "affirm", chat=chat, slots={"pending_offer": "human", "handoff_reason": "complaint"},
        events=[EARLIER_USER, *OFFERED],
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    events = ActionResolveOffer().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_handoff_offline"]
    ticket = service.get(f"/api/v1/tickets/{dispatcher.messages[0]['ticket_number']}").json()
    assert "(complaint)" in ticket["subject"]
    assert slots_set(events)["pending_offer"] is None


def test_no_or_a_stale_offer_does_not_escalate(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("no", "deny", chat=chat, slots={"pending_offer": "human"}, events=[EARLIER_USER, *OFFERED])
    ActionResolveOffer().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_anything_else"]

    # The offer was made turns ago: a "yes" now is not taken as accepting it.
    stale = [*OFFERED, {"event": "user", "text": "how long is delivery"}, {"event": "action", "name": "x"}]
    dispatcher = CollectingDispatcher()
    t = tracker("yes", "affirm", chat=chat, slots={"pending_offer": "human"}, events=[EARLIER_USER, *stale])
    ActionResolveOffer().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_anything_else"]


def test_yes_to_a_ticket_offer_starts_the_ticket_form(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    offered: list[dict[str, Any]] = [
        EARLIER_USER,
        {"event": "slot", "name": "pending_offer", "value": "ticket"},
    ]
    t = tracker("yes", "affirm", chat=chat, slots={"pending_offer": "ticket"}, events=offered)
    events = ActionResolveOffer().run(CollectingDispatcher(), t, {})
    assert events[-1] == {"event": "followup", "name": "ticket_form"}


def test_ticket_status_a_vip_gets_a_human_others_do_not(
    crm: CrmBridgeClient,
    chat: dict[str, Any],
    service: TestClient,
    online_agent: int,
    staff: TestClient,
) -> None:
    number = service.post(
        "/api/v1/tickets", json={"subject": "Where is my refund", "contact_id": chat["contact_id"]}
    ).json()["number"]
    dispatcher = CollectingDispatcher()
    ActionTicketStatus().run(dispatcher, tracker(f"status {number}", chat=chat), {})
    assert responses(dispatcher) == ["utter_ticket_status"]  # declined by policy: nothing more is said
    assert staff.get(f"/api/v1/conversations/{chat['conversation_id']}").json()["status"] == "bot"

    service.patch(f"/api/v1/contacts/{chat['contact_id']}", json={"tier": "vip"})
    dispatcher = CollectingDispatcher()
    ActionTicketStatus().run(dispatcher, tracker(f"status {number}", chat=chat), {})
    assert responses(dispatcher) == ["utter_ticket_status", "utter_handoff_queued"]
    assert staff.get(f"/api/v1/conversations/{chat['conversation_id']}").json()["status"] == "queued"
