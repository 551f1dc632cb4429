"""Rasa and the action server refuse whoever lacks their token, and the actions act only on ids that
crm_bridge signed (issue 22, item 1): each forgery below was accepted before."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from kefu.stack import Stack
from tests.e2e.test_flows import TICKET, Customer, _contact


@pytest.fixture(scope="module")
def victim(api: httpx.Client, e2e_db_url: str) -> tuple[int, str]:
    """A customer with an open ticket: (contact id, ticket number)."""
    customer = Customer(api, "victim")
    customer.say("open a ticket")
    customer.say("My private refund problem")
    customer.say("victim.person@example.com")
    number = TICKET.findall(customer.say("no"))[0]
    return _contact(e2e_db_url, customer).id, number


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/webhooks/rest/webhook"),
        ("GET", "/conversations/anyone/tracker"),
        ("POST", "/conversations/anyone/tracker/events"),
        ("GET", "/status"),
        ("PUT", "/model"),
    ],
)
def test_rasa_refuses_requests_without_its_token(stack: Stack, method: str, path: str) -> None:
    body = {"sender": "x", "message": "hi"} if method != "GET" else None
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {stack.rasa_token}"}):
        response = httpx.request(method, f"{stack.rasa_url}{path}", json=body, headers=headers, timeout=10)
        assert response.status_code == 401, (path, headers, response.text)
    assert "token" in response.json()["message"]


def test_rasa_answers_with_its_token(stack: Stack) -> None:
    ok = httpx.get(
        f"{stack.rasa_url}/status", headers={"Authorization": f"Bearer {stack.rasa_token}"}, timeout=10
    )
    assert ok.status_code == 200 and ok.json()["model_file"]


def test_the_action_server_refuses_requests_without_its_token(stack: Stack) -> None:
    call = {"next_action": "action_check_ticket_status", "sender_id": "x", "tracker": {}, "domain": {}}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {stack.rasa_token}"}):
        response = httpx.post(f"{stack.actions_url}/webhook", json=call, headers=headers, timeout=10)
        assert response.status_code == 401, response.text
    assert httpx.get(f"{stack.actions_url}/actions", timeout=10).status_code == 401
    assert httpx.get(f"{stack.actions_url}/health", timeout=10).status_code == 200


def test_a_customer_cannot_name_another_contact_in_an_intent_payload(
    api: httpx.Client, victim: tuple[int, str]
) -> None:
    contact_id, number = victim
    attacker = Customer(api, "attacker")
    reply = attacker.say(f'/check_ticket_status{{"contact_id": "{contact_id}"}}')
    assert number not in reply and "private refund" not in reply
    assert "no open tickets" in reply


def test_metadata_posted_straight_to_rasa_is_not_acted_on(stack: Stack, victim: tuple[int, str]) -> None:
    # Even with Rasa's token (a leaked one), unsigned ids are ignored by the actions.
    contact_id, number = victim
    sender = f"forged-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={
            "sender": sender,
            "message": "any update on my ticket?",
            "metadata": {"contact_id": contact_id, "conversation_id": sender, "language": "en"},
        },
        headers={"Authorization": f"Bearer {stack.rasa_token}"},
        timeout=30,
    )
    assert response.status_code == 200
    text = " ".join(m.get("text") or "" for m in response.json())
    assert number not in text and not re.search(r"private refund", text, re.I)
