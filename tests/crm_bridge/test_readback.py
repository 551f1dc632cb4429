"""Before any flush, a guarded row's new values must read back through its read shape (issue 25)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.readback import UnreadableRow


@pytest.mark.parametrize(
    ("field", "value"), [("tags", None), ("attributes", None), ("tier", "gold"), ("tags", [1, 2])]
)
def test_a_change_that_would_not_read_back_is_not_flushed(
    session: Session, field: str, value: object
) -> None:
    contact = contacts.create(session, data={"name": "Guarded", "tags": ["a"], "attributes": {"k": 1}})
    session.commit()
    setattr(contact, field, value)
    with pytest.raises(
        UnreadableRow, match=f"Contact.{field} = .* would not read back as ContactRead.{field}"
    ):
        session.flush()
    session.rollback()
    stored = session.get(Contact, contact.id, populate_existing=True)
    assert stored is not None
    assert (stored.tier.value, stored.tags, stored.attributes) == ("standard", ["a"], {"k": 1})


def test_a_new_row_is_checked_and_unguarded_models_are_not(session: Session) -> None:
    session.add(Contact(name="New", tags=None))
    with pytest.raises(UnreadableRow):
        session.flush()
    session.rollback()
    session.add(
        Conversation(id=uuid.uuid4().hex, contact_id=contacts.create(session, data={}).id, channel="x")
    )
    session.flush()  # not guarded: no read-back check (the database still has its own constraints)
    session.rollback()


def test_the_api_answers_500_and_keeps_the_row_when_a_write_would_not_read_back(
    client: TestClient, agent_client: tuple[TestClient, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _ = agent_client
    created = api.post("/api/v1/contacts", json={"name": "Kept", "tags": ["x"]}).json()
    real = contacts.update_fields

    def buggy(session: Session, *, contact: Contact, changes: dict[str, object]) -> Contact:
        return real(session, contact=contact, changes={**changes, "tags": None})  # a bug in a service

    monkeypatch.setattr(contacts, "update_fields", buggy)
    lenient = TestClient(client.app, raise_server_exceptions=False, headers=dict(api.headers))
    answer = lenient.patch(f"/api/v1/contacts/{created['id']}", json={"name": "Changed"})
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    monkeypatch.undo()
    after = api.get(f"/api/v1/contacts/{created['id']}")
    assert after.status_code == 200, after.text
    assert (after.json()["name"], after.json()["tags"]) == ("Kept", ["x"])
    assert api.get("/api/v1/contacts").status_code == 200
