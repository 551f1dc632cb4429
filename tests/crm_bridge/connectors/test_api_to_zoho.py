"""Through the real API: CRM writes queue outbox items in the same transaction, and the outbox
delivers them to (the local fake of) Zoho CRM; with Zoho not configured nothing is queued."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.connectors.zoho import ZohoConnector, ZohoSettings
from crm_bridge.outbox import service as outbox
from crm_bridge.outbox.models import OutboxItem
from tests.fakes.zoho_server import FakeZoho


def _items(session: Session, entity_prefix: str) -> list[OutboxItem]:
    session.expire_all()
    stmt = select(OutboxItem).where(OutboxItem.entity.like(f"{entity_prefix}%")).order_by(OutboxItem.id)
    return list(session.scalars(stmt))


def test_writes_are_queued_and_delivered(
    agent_client: tuple[TestClient, int],
    session: Session,
    fake_zoho: FakeZoho,
    zoho_settings: ZohoSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {
        "KEFU_ZOHO_ACCOUNTS_URL": fake_zoho.url,
        "KEFU_ZOHO_API_DOMAIN": fake_zoho.url,
        "KEFU_ZOHO_CLIENT_ID": fake_zoho.client_id,
        "KEFU_ZOHO_CLIENT_SECRET": fake_zoho.client_secret,
        "KEFU_ZOHO_REFRESH_TOKEN": fake_zoho.refresh_token,
    }.items():
        monkeypatch.setenv(key, value)
    api, _ = agent_client
    email = f"zoho-{uuid.uuid4().hex[:8]}@example.com"
    contact = api.post("/api/v1/contacts", json={"name": "Li Lei", "email": email}).json()
    ticket = api.post("/api/v1/tickets", json={"subject": "Broken lamp", "contact_id": contact["id"]}).json()
    api.patch(f"/api/v1/tickets/{ticket['number']}", json={"status": "open"})
    api.post(
        "/api/v1/feedback", json={"rating": 4, "contact_id": contact["id"], "ticket_number": ticket["number"]}
    )

    assert [i.operation for i in _items(session, f"contact:{contact['id']}")] == ["upsert_contact"]
    assert [i.operation for i in _items(session, f"ticket:{ticket['number']}")] == [
        "create_ticket",
        "update_ticket",
    ]

    connector = ZohoConnector(zoho_settings)
    try:
        for _ in range(3):  # items of one record go in order; a few rounds drain them
            outbox.process_due(session, connector, connector_name="zoho")
    finally:
        connector.close()
    assert all(i.status.value == "done" for i in _items(session, f"ticket:{ticket['number']}"))
    zoho_contacts = [c for c in fake_zoho.records["Contacts"].values() if c.get("Email") == email]
    assert len(zoho_contacts) == 1
    cases = [c for c in fake_zoho.records["Cases"].values() if c.get("Subject") == "Broken lamp"]
    assert len(cases) == 1 and cases[0]["Status"] == "Escalated"
    assert any("CSAT 4" in n.get("Note_Title", "") for n in fake_zoho.records["Notes"].values())


def test_nothing_is_queued_without_zoho(
    agent_client: tuple[TestClient, int], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("KEFU_ZOHO_CLIENT_ID", "KEFU_ZOHO_CLIENT_SECRET", "KEFU_ZOHO_REFRESH_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    api, _ = agent_client
    contact = api.post("/api/v1/contacts", json={"name": "No Sync"}).json()
    assert _items(session, f"contact:{contact['id']}") == []
