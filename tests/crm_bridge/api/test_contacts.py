"""Contacts: validation, identities, search, merge, export, erasure, roles."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, ContactIdentity
from crm_bridge.contacts.schemas import ContactRead
from crm_bridge.conversations.models import Message, MessageRole

TICKET_FIELDS = (
    "subject", "description", "status", "priority", "contact_id", "conversation_id", "assignee_id",
    "created_at", "updated_at", "first_response_due_at", "resolution_due_at", "first_responded_at",
    "resolved_at", "closed_at",
)  # fmt: skip
BREACH_FLAGS = ("first_response_breached", "resolution_breached")


def test_create_normalises_phone_and_checks_email(agent_client: tuple[TestClient, int]) -> None:
    api, _ = agent_client
    created = api.post(
        "/api/v1/contacts",
        json={
            "name": "Wang Fang",
            "email": "fang@example.com",
            "phone": "138 0013 8000",
            "tags": ["VIP ", "b"],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phone"] == "+8613800138000"
    assert body["tags"] == ["b", "vip"]
    assert body["tier"] == "standard"
    us = api.post("/api/v1/contacts", json={"phone": "+1 (415) 555-2671"}).json()
    assert us["phone"] == "+14155552671"
    by_phone = api.get("/api/v1/contacts", params={"phone": "+1 415-555-2671"}).json()
    assert us["id"] in [c["id"] for c in by_phone["items"]]
    assert api.post("/api/v1/contacts", json={"email": "not-an-email"}).status_code == 422
    bad_phone = api.post("/api/v1/contacts", json={"phone": "12"})
    assert bad_phone.status_code == 422
    assert "phone" in bad_phone.json()["error"]["message"]


def test_search_update_and_get(agent_client: tuple[TestClient, int]) -> None:
    api, _ = agent_client
    tag = uuid.uuid4().hex[:8]
    created = api.post(
        "/api/v1/contacts", json={"name": f"Search {tag}", "email": f"{tag}@example.com"}
    ).json()
    assert api.get("/api/v1/contacts", params={"q": tag}).json()["total"] == 1
    assert api.get("/api/v1/contacts", params={"q": tag.upper()}).json()["items"][0]["id"] == created["id"]
    patched = api.patch(
        f"/api/v1/contacts/{created['id']}", json={"tier": "vip", "attributes": {"plan": "gold"}}
    )
    assert patched.json()["tier"] == "vip"
    assert patched.json()["attributes"] == {"plan": "gold"}
    assert api.get("/api/v1/contacts/99999999").status_code == 404
    exact = api.get("/api/v1/contacts", params={"email": f"{tag.upper()}@EXAMPLE.com".lower()}).json()
    assert [c["id"] for c in exact["items"]] == [created["id"]]
    assert api.get("/api/v1/contacts", params={"phone": "12"}).status_code == 422


def test_search_pages_count_every_match(agent_client: tuple[TestClient, int]) -> None:
    # Past a full first page the total comes from a COUNT over the same filtered search.
    api, _ = agent_client
    tag = uuid.uuid4().hex[:8]
    made = [
        api.post(
            "/api/v1/contacts", json={"name": f"Paged {tag} {i}", "email": f"p{i}-{tag}@example.com"}
        ).json()["id"]
        for i in range(3)
    ]
    first = api.get("/api/v1/contacts", params={"q": tag, "limit": 2}).json()
    assert first["total"] == 3
    assert [c["id"] for c in first["items"]] == made[::-1][:2]  # newest first
    rest = api.get("/api/v1/contacts", params={"q": tag, "limit": 2, "offset": 2}).json()
    assert rest["total"] == 3
    assert [c["id"] for c in rest["items"]] == [made[0]]
    assert api.get("/api/v1/contacts", params={"q": tag.upper(), "offset": 1}).json()["total"] == 3


def test_lookup_json_is_the_response_model(
    client: TestClient, agent_client: tuple[TestClient, int], session: Session
) -> None:
    api, _ = agent_client
    external = f"widget-{uuid.uuid4().hex[:8]}"
    client.post("/api/v1/chat", json={"user_id": external, "text": "hi"})
    [found] = session.scalars(
        select(Contact).join(ContactIdentity).where(ContactIdentity.external_id == external)
    ).all()
    expected = ContactRead.model_validate(found).model_dump(mode="json")
    assert expected["identities"] == [{"channel": "api", "external_id": external}]
    one = api.get(f"/api/v1/contacts/{found.id}")
    assert one.headers["content-type"] == "application/json"
    assert one.json() == expected
    listed = api.get("/api/v1/contacts", params={"limit": 500}).json()
    assert expected in listed["items"]
    missing = api.get("/api/v1/contacts/99999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "contact 99999999 not found"


def test_chat_identity_becomes_a_contact(client: TestClient, agent_client: tuple[TestClient, int]) -> None:
    api, _ = agent_client
    user = f"widget-{uuid.uuid4().hex[:8]}"
    client.post("/api/v1/chat", json={"user_id": user, "text": "hi"})
    contacts = api.get("/api/v1/contacts", params={"limit": 500}).json()["items"]
    mine = [c for c in contacts if {"channel": "api", "external_id": user} in c["identities"]]
    assert len(mine) == 1


def test_merge_moves_identities_conversations_tickets_and_feedback(
    client: TestClient, agent_client: tuple[TestClient, int]
) -> None:
    api, _ = agent_client
    user = f"merge-{uuid.uuid4().hex[:8]}"
    conversation = client.post("/api/v1/chat", json={"user_id": user, "text": "hello"}).json()[
        "conversation_id"
    ]
    contacts = api.get("/api/v1/contacts", params={"limit": 500}).json()["items"]
    source = next(c for c in contacts if {"channel": "api", "external_id": user} in c["identities"])
    target = api.post(
        "/api/v1/contacts", json={"name": "Merged Person", "email": f"{user}@example.com"}
    ).json()
    ticket = api.post("/api/v1/tickets", json={"subject": "x", "contact_id": source["id"]}).json()
    rating = api.post("/api/v1/feedback", json={"rating": 2, "contact_id": source["id"]}).json()
    merged = api.post(f"/api/v1/contacts/{target['id']}/merge", json={"source_id": source["id"]})
    assert merged.status_code == 200, merged.text
    assert {"channel": "api", "external_id": user} in merged.json()["identities"]
    assert api.get(f"/api/v1/tickets/{ticket['number']}").json()["contact_id"] == target["id"]
    moved = api.get("/api/v1/feedback", params={"contact_id": target["id"]}).json()["items"]
    assert [f["id"] for f in moved] == [rating["id"]]
    assert api.get("/api/v1/feedback", params={"contact_id": source["id"]}).json()["total"] == 0
    old = api.get(f"/api/v1/contacts/{source['id']}").json()
    assert old["merged_into_id"] == target["id"]  # history kept
    listed = api.get("/api/v1/contacts", params={"limit": 500}).json()["items"]
    assert source["id"] not in [c["id"] for c in listed]  # merged contacts are hidden from lists…
    with_merged = api.get("/api/v1/contacts", params={"limit": 500, "include_merged": True}).json()
    assert source["id"] in [c["id"] for c in with_merged["items"]]  # …unless asked for
    # the chat identity now resolves to the target: the same conversation continues
    again = client.post("/api/v1/chat", json={"user_id": user, "text": "again"}).json()
    assert again["conversation_id"] == conversation
    assert (
        api.post(f"/api/v1/contacts/{target['id']}/merge", json={"source_id": source["id"]}).status_code
        == 409
    )
    assert (
        api.post(f"/api/v1/contacts/{target['id']}/merge", json={"source_id": target["id"]}).status_code
        == 422
    )


def test_export_and_erasure_are_admin_only(
    client: TestClient,
    session: Session,
    agent_client: tuple[TestClient, int],
    admin_client: tuple[TestClient, int],
) -> None:
    agent, _ = agent_client
    admin, _ = admin_client
    user = f"gdpr-{uuid.uuid4().hex[:8]}"
    conversation = client.post(
        "/api/v1/chat", json={"user_id": user, "text": "my address is 1 Main St"}
    ).json()
    contact = next(
        c
        for c in agent.get("/api/v1/contacts", params={"limit": 500}).json()["items"]
        if {"channel": "api", "external_id": user} in c["identities"]
    )
    cid = contact["id"]
    agent.patch(f"/api/v1/contacts/{cid}", json={"name": "Erase Me", "email": "erase@example.com"})
    ticket = agent.post("/api/v1/tickets", json={"subject": "keep me", "contact_id": cid}).json()
    assert agent.get(f"/api/v1/contacts/{cid}/export").status_code == 403
    assert agent.delete(f"/api/v1/contacts/{cid}").status_code == 403

    agent.post("/api/v1/feedback", json={"rating": 5, "nps": 9, "comment": "quick", "contact_id": cid})
    assert agent.get(f"/api/v1/contacts/{cid}/export").status_code == 403
    assert agent.post(f"/api/v1/contacts/{cid}/merge", json={"source_id": cid}).status_code == 422

    exported = admin.get(f"/api/v1/contacts/{cid}/export").json()
    # The first keys as they always were; the erasure work (crm_bridge/erasure) added more after them.
    assert list(exported)[:5] == ["contact", "identities", "conversations", "tickets", "feedback"]
    assert "exported_at" in exported
    assert exported["contact"]["email"] == "erase@example.com"
    assert exported["identities"] == [{"channel": "api", "external_id": user}]
    assert exported["conversations"][0]["messages"][0]["text"] == "my address is 1 Main St"
    assert exported["tickets"][0]["number"] == ticket["number"]
    assert list(exported["tickets"][0]) == [*TICKET_FIELDS, "number", *BREACH_FLAGS, "events"]
    created = datetime.fromisoformat(exported["tickets"][0]["created_at"])
    assert created == datetime.fromisoformat(ticket["created_at"])
    assert [{k: v for k, v in f.items() if k != "created_at"} for f in exported["feedback"]] == [
        {"rating": 5, "nps": 9, "comment": "quick"}
    ]

    erased = admin.delete(f"/api/v1/contacts/{cid}").json()
    assert erased["name"] is None and erased["email"] is None and erased["erased_at"]
    assert all(i["external_id"].startswith("erased-") for i in erased["identities"])
    session.expire_all()
    texts = session.scalars(
        select(Message.text).where(
            Message.conversation_id == conversation["conversation_id"], Message.role == MessageRole.customer
        )
    ).all()
    assert texts == ["[erased]"]
    assert admin.get(f"/api/v1/tickets/{ticket['number']}").status_code == 200  # tickets kept
    assert agent.patch(f"/api/v1/contacts/{cid}", json={"name": "Back"}).status_code == 409


def test_merge_moves_the_widget_sessions_too(
    client: TestClient, agent_client: tuple[TestClient, int]
) -> None:
    # Issue 22 (low): after a merge the browser's session stayed with the merged-away contact, whose
    # conversations had moved: the widget lost its history and a new message started a new conversation.
    from tests.crm_bridge.widget.test_ws import say

    api, _ = agent_client
    token = client.post("/api/v1/widget/session", json={"language": "en"}).json()["token"]
    browser = {"Authorization": f"Bearer {token}"}
    with client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        say(ws, "m-1", "hello from the widget")
    conversation = client.get("/api/v1/widget/history", headers=browser).json()["conversation_id"]
    assert conversation is not None
    source_id = api.get(f"/api/v1/conversations/{conversation}").json()["contact_id"]
    target = api.post("/api/v1/contacts", json={"name": "Widget Person"}).json()
    assert (
        api.post(f"/api/v1/contacts/{target['id']}/merge", json={"source_id": source_id}).status_code == 200
    )
    history = client.get("/api/v1/widget/history", headers=browser).json()
    assert history["conversation_id"] == conversation  # the browser still sees its conversation
    assert any(m["text"] == "hello from the widget" for m in history["messages"])
    assert api.get(f"/api/v1/conversations/{conversation}").json()["contact_id"] == target["id"]
