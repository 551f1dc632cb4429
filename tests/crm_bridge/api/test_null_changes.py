"""Explicit null in a change (issue 25): 422 naming the field where it cannot be null, cleared where it can;
either way the row reads back afterwards, for this caller and in every list."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crm_bridge.agent.schemas import CannedReplyUpdate
from crm_bridge.contacts.schemas import ContactUpdate
from crm_bridge.kb.schemas import FaqUpdate
from crm_bridge.shapes import MAX_ID, NULL_REFUSED, ChangeBody
from crm_bridge.tickets.schemas import TicketUpdate
from crm_bridge.users.schemas import UserUpdate

UPDATE_BODIES: dict[str, type[ChangeBody]] = {
    "ContactUpdate": ContactUpdate,
    "UserUpdate": UserUpdate,
    "TicketUpdate": TicketUpdate,
    "FaqUpdate": FaqUpdate,
    "CannedReplyUpdate": CannedReplyUpdate,
}


def assert_null_refused(response: Any, *fields: str) -> None:
    """422 in the one error shape, naming each field in the message and in details."""
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    named = {d["loc"][-1] for d in error["details"] if d["type"] == NULL_REFUSED}
    assert named == set(fields), error
    for name in fields:
        assert f"{name}: cannot be null" in error["message"]


def _same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


# Contacts ------------------------------------------------------------------------------------------


@pytest.fixture
def contact(agent_client: tuple[TestClient, int]) -> tuple[TestClient, dict[str, Any]]:
    """A contact with every field set."""
    api, _ = agent_client
    tag = uuid.uuid4().hex[:8]
    body = {
        "name": f"Null {tag}", "email": f"{tag}@example.com", "phone": "138 0013 8000",
        "preferred_language": "zh", "tier": "vip", "tags": ["a"], "attributes": {"plan": "gold"},
    }  # fmt: skip
    created = api.post("/api/v1/contacts", json=body)
    assert created.status_code == 201, created.text
    return api, created.json()


@pytest.mark.parametrize(
    "change",
    [{"tags": None}, {"attributes": None}, {"tier": None}, {"tags": None, "attributes": None}],
    ids=["tags", "attributes", "tier", "tags+attributes"],
)
def test_contact_null_on_a_field_that_cannot_be_empty_is_refused(
    contact: tuple[TestClient, dict[str, Any]], change: dict[str, Any]
) -> None:
    api, before = contact
    assert_null_refused(api.patch(f"/api/v1/contacts/{before['id']}", json=change), *change)
    after = api.get(f"/api/v1/contacts/{before['id']}")
    assert after.status_code == 200, after.text
    _same(before, after.json())
    listed = api.get("/api/v1/contacts", params={"q": before["name"]})
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [before["id"]]
    assert api.get("/api/v1/contacts").status_code == 200


def test_contact_null_clears_the_fields_that_may_be_empty(contact: tuple[TestClient, dict[str, Any]]) -> None:
    api, before = contact
    cleared = {"name": None, "email": None, "phone": None, "preferred_language": None}
    patched = api.patch(f"/api/v1/contacts/{before['id']}", json=cleared)
    assert patched.status_code == 200, patched.text
    after = api.get(f"/api/v1/contacts/{before['id']}").json()
    assert {k: after[k] for k in cleared} == cleared
    assert (after["tier"], after["tags"], after["attributes"]) == ("vip", ["a"], {"plan": "gold"})
    assert api.get("/api/v1/contacts").status_code == 200


# Knowledge base ------------------------------------------------------------------------------------


@pytest.fixture
def faq(admin_client: tuple[TestClient, int]) -> tuple[TestClient, dict[str, Any]]:
    """A draft entry with a category."""
    api, _ = admin_client
    body = {
        "id": f"null-{uuid.uuid4().hex[:8]}", "question": "Can a null change break an entry?",
        "answer": "It must not.", "language": "en", "category": "orders", "tags": ["t"],
    }  # fmt: skip
    created = api.post("/api/v1/kb/faqs", json=body)
    assert created.status_code == 201, created.text
    return api, created.json()


@pytest.mark.parametrize("field", ["language", "status", "question", "answer", "variants", "tags"])
def test_faq_null_on_a_field_that_cannot_be_empty_is_refused(
    faq: tuple[TestClient, dict[str, Any]], field: str
) -> None:
    api, before = faq
    assert_null_refused(api.patch(f"/api/v1/kb/faqs/{before['id']}", json={field: None}), field)
    after = api.get(f"/api/v1/kb/faqs/{before['id']}")
    assert after.status_code == 200, after.text
    _same(before, after.json())  # the version did not move either
    assert api.get("/api/v1/kb/faqs", params={"q": "null change break"}).status_code == 200


def test_faq_null_clears_the_category(faq: tuple[TestClient, dict[str, Any]]) -> None:
    api, before = faq
    patched = api.patch(f"/api/v1/kb/faqs/{before['id']}", json={"category": None})
    assert patched.status_code == 200, patched.text
    after = api.get(f"/api/v1/kb/faqs/{before['id']}").json()
    assert after["category"] is None
    assert after["version"] == before["version"] + 1


# Users ---------------------------------------------------------------------------------------------


@pytest.fixture
def account(admin_client: tuple[TestClient, int]) -> tuple[TestClient, dict[str, Any]]:
    """A new agent account, created by an admin."""
    api, _ = admin_client
    name = f"null-{uuid.uuid4().hex[:8]}"
    body = {
        "username": name, "password": "first password 1", "role": "agent", "display_name": "Nu Ll",
        "languages": ["zh"], "max_concurrent_chats": 4,
    }  # fmt: skip
    created = api.post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    return api, created.json()


@pytest.mark.parametrize("field", ["role", "max_concurrent_chats", "password", "languages", "active"])
def test_user_null_on_a_field_that_cannot_be_empty_is_refused(
    client: TestClient, account: tuple[TestClient, dict[str, Any]], field: str
) -> None:
    api, before = account
    assert_null_refused(api.patch(f"/api/v1/users/{before['id']}", json={field: None}), field)
    after = api.get(f"/api/v1/users/{before['id']}")
    assert after.status_code == 200, after.text
    assert after.json() == before
    assert api.get("/api/v1/users").status_code == 200
    login = {"username": before["username"], "password": "first password 1"}
    fresh = TestClient(client.app)  # not `client`: the login's session cookie would stay on it
    assert fresh.post("/api/v1/auth/token", data=login).status_code == 200  # the password is unchanged


def test_user_null_clears_the_display_name(account: tuple[TestClient, dict[str, Any]]) -> None:
    api, before = account
    patched = api.patch(f"/api/v1/users/{before['id']}", json={"display_name": None})
    assert patched.status_code == 200, patched.text
    assert api.get(f"/api/v1/users/{before['id']}").json() == {**before, "display_name": None}


# Tickets and canned replies ------------------------------------------------------------------------


def test_ticket_null_refused_except_to_unassign(admin_client: tuple[TestClient, int]) -> None:
    api, admin_id = admin_client
    created = api.post("/api/v1/tickets", json={"subject": "Null check", "assignee_id": admin_id})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    for field in ("status", "priority", "subject"):
        assert_null_refused(api.patch(f"/api/v1/tickets/{number}", json={field: None}), field)
    unassigned = api.patch(f"/api/v1/tickets/{number}", json={"assignee_id": None})
    assert unassigned.status_code == 200, unassigned.text
    after = api.get(f"/api/v1/tickets/{number}").json()
    assert (after["assignee_id"], after["subject"], after["status"]) == (None, "Null check", "new")


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_canned_reply_null_is_refused(admin_client: tuple[TestClient, int], method: str) -> None:
    api, _ = admin_client
    body = {"title": "Null", "text": "No nulls here.", "language": "en"}
    created = api.post("/api/v1/agent/canned-replies", json=body).json()
    url = f"/api/v1/agent/canned-replies/{created['id']}"
    for field in ("title", "text", "language"):
        assert_null_refused(api.request(method, url, json={field: None}), field)
    assert api.get(url).json() == created


# Ids too big for the database ----------------------------------------------------------------------


def test_ids_beyond_the_id_column_are_refused_not_failed(admin_client: tuple[TestClient, int]) -> None:
    api, _ = admin_client
    big = MAX_ID + 1
    assert api.get(f"/api/v1/agent/canned-replies/{big}").status_code == 422
    assert api.get(f"/api/v1/contacts/{big}").status_code == 422
    assert api.get(f"/api/v1/users/{MAX_ID}").status_code == 404
    assert api.post("/api/v1/contacts/1/merge", json={"source_id": big}).status_code == 422
    assert api.get("/api/v1/tickets", params={"contact_id": big}).status_code == 422
    assert api.get(f"/api/v1/tickets/T-{big}").status_code == 404
    assert api.get(f"/api/v1/tickets/T-{'9' * 5000}").status_code == 404


# The OpenAPI document ------------------------------------------------------------------------------


def _nullable(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(o.get("type") == "null" for o in prop.get("anyOf", ()))


@pytest.mark.parametrize("name", sorted(UPDATE_BODIES))
def test_openapi_allows_null_exactly_where_it_clears(client: TestClient, name: str) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    properties = schemas[name]["properties"]
    nullable = {field for field, prop in properties.items() if _nullable(prop)}
    assert nullable == set(UPDATE_BODIES[name].clearable)
    for field, prop in properties.items():
        if field not in nullable:
            assert prop.get("default", "absent") is not None, (field, prop)


def test_every_change_body_of_the_api_follows_the_rule(client: TestClient) -> None:
    """Every PATCH and PUT request body in the document is one of the ChangeBody classes above."""
    doc = client.get("/openapi.json").json()
    bodies = set()
    for path_item in doc["paths"].values():
        for method, operation in path_item.items():
            if method in ("patch", "put") and "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                bodies.add(ref.rsplit("/", 1)[-1])
    assert bodies == set(UPDATE_BODIES)


def test_clearable_must_name_a_nullable_field() -> None:
    with pytest.raises(TypeError, match="names no field"):

        class _Typo(ChangeBody):
            clearable = frozenset({"nmae"})
            name: str | None = None

    with pytest.raises(TypeError, match="does not admit None"):

        class _NotNullable(ChangeBody):
            clearable = frozenset({"count"})
            count: int = 0


def test_a_value_the_database_refuses_is_a_422_not_a_500(admin_client: tuple[TestClient, int]) -> None:
    api, _ = admin_client
    number = api.post("/api/v1/tickets", json={"subject": "NUL check"}).json()["number"]
    answer = api.post(f"/api/v1/tickets/{number}/events", json={"kind": "internal_note", "body": "a\x00b"})
    if answer.status_code == 201:  # SQLite stores a NUL character
        return
    assert answer.status_code == 422, answer.text  # PostgreSQL text cannot hold one
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and "NUL" in error["message"]
    assert api.get(f"/api/v1/tickets/{number}").status_code == 200
