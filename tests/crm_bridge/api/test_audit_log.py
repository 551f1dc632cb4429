"""The audit log (issue 22 item 7): what is recorded, with whom, where from and in which request; the
admin-only list and CSV export; and that nothing but the retention job removes an entry (the routes
cannot, and the database refuses), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from alembic import command
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.audit.models import AuditEntry
from crm_bridge.audit.retention import purge
from crm_bridge.conversations.models import Conversation
from crm_bridge.migrate import alembic_config, upgrade
from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from kefu_core.db import make_engine, utcnow
from tests.app_fixtures import SERVICE_TOKEN, logged_in
from tests.crm_bridge.databases import fresh_database

PASSWORD = "test password 1"
EMAIL = "audit.person@example.com"
PHONE = "+8613800138000"
NAME = "Audit Person Zhang"


def _rid() -> str:
    return f"audit-{uuid.uuid4().hex[:12]}"


def _entries(admin: TestClient, **filters: Any) -> list[dict[str, Any]]:
    answer = admin.get("/api/v1/audit", params={"limit": 500, **filters})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def _one(admin: TestClient, request_id: str, action: str) -> dict[str, Any]:
    found = [e for e in _entries(admin, action=action) if e["request_id"] == request_id]
    assert len(found) == 1, (action, found)
    return found[0]


def _user(session: Session, role: Role, prefix: str = "") -> tuple[str, int]:
    name = f"{prefix}{role.value}-{uuid.uuid4().hex[:8]}"
    user = users.create(session, username=name, password=PASSWORD, role=role, languages=["en"])
    session.commit()
    return name, user.id


def test_sign_ins_failures_and_mfa_changes_are_recorded(client: TestClient, session: Session) -> None:
    admin, _ = logged_in(client, session, Role.admin)
    name, user_id = _user(session, Role.agent)
    person = TestClient(client.app)
    rid = _rid()
    wrong = person.post(
        "/api/v1/auth/token", data={"username": name, "password": "not it"}, headers={"X-Request-ID": rid}
    )
    assert wrong.status_code == 401  # the request failed, yet its entry was committed
    failed = _one(admin, rid, "auth.login_failed")
    assert (failed["actor_id"], failed["actor_username"], failed["actor_role"]) == (None, None, None)
    assert (failed["target_type"], failed["target_id"]) == ("user", str(user_id))
    assert failed["client_address"] == "testclient"
    assert failed["details"] == {"via": "token", "reason": "invalid_credentials"}

    rid = _rid()
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    person.post(
        "/api/v1/auth/token", data={"username": unknown, "password": "x"}, headers={"X-Request-ID": rid}
    )
    nobody = _one(admin, rid, "auth.login_failed")
    assert nobody["target_id"] is None and unknown not in json.dumps(nobody)  # a typed name is not kept

    rid = _rid()
    token = person.post(
        "/api/v1/auth/token", data={"username": name, "password": PASSWORD}, headers={"X-Request-ID": rid}
    ).json()["access_token"]
    login = _one(admin, rid, "auth.login")
    assert (login["actor_id"], login["actor_username"], login["actor_role"]) == (user_id, name, "agent")
    assert (login["target_type"], login["target_id"], login["client_address"]) == (
        "user",
        str(user_id),
        "testclient",
    )

    person.headers["Authorization"] = f"Bearer {token}"
    secret = person.post("/api/v1/auth/mfa/setup").json()["secret"]
    rid = _rid()
    enabled = person.post(
        "/api/v1/auth/mfa/enable", json={"code": pyotp.TOTP(secret).now()}, headers={"X-Request-ID": rid}
    )
    assert enabled.status_code == 200
    entry = _one(admin, rid, "auth.mfa_enabled")
    assert (entry["actor_id"], entry["target_id"]) == (user_id, str(user_id))
    assert secret not in json.dumps(_entries(admin, target_type="user", target_id=str(user_id)))


def test_the_login_page_records_its_failures_too(client: TestClient, session: Session) -> None:
    admin, _ = logged_in(client, session, Role.admin)
    name, user_id = _user(session, Role.agent)
    rid = _rid()
    page = TestClient(client.app).post(
        "/admin/login", data={"username": name, "password": "wrong"}, headers={"X-Request-ID": rid}
    )
    assert page.status_code == 401
    entry = _one(admin, rid, "auth.login_failed")
    assert entry["details"] == {"via": "page", "reason": "invalid_credentials"}
    assert entry["target_id"] == str(user_id)


def _conversation(session: Session, contact_id: int) -> str:
    conversation = Conversation(id=uuid.uuid4().hex, contact_id=contact_id, channel="rest")
    session.add(conversation)
    session.commit()
    return conversation.id


def test_reads_by_people_are_recorded_and_the_services_are_not(client: TestClient, session: Session) -> None:
    admin, _ = logged_in(client, session, Role.admin)
    agent, agent_id = logged_in(client, session, Role.agent)
    service = TestClient(client.app, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    contact = agent.post("/api/v1/contacts", json={"name": NAME, "email": EMAIL, "phone": PHONE}).json()
    cid = str(contact["id"])

    rid = _rid()
    assert agent.get(f"/api/v1/contacts/{cid}", headers={"X-Request-ID": rid}).status_code == 200
    read = _one(admin, rid, "contact.read")
    assert (read["actor_id"], read["actor_role"], read["target_type"], read["target_id"]) == (
        agent_id, "agent", "contact", cid,
    )  # fmt: skip
    assert service.get(f"/api/v1/contacts/{cid}").status_code == 200
    reads = _entries(admin, action="contact.read", target_type="contact", target_id=cid)
    assert [e["actor_id"] for e in reads] == [agent_id]  # the action server's lookup is not there

    rid = _rid()
    agent.get("/api/v1/contacts", params={"email": EMAIL}, headers={"X-Request-ID": rid})
    assert _one(admin, rid, "contact.list")["details"] == {"filters": ["email"], "include_merged": False}

    conversation_id = _conversation(session, contact["id"])
    rid = _rid()
    assert (
        agent.get(f"/api/v1/conversations/{conversation_id}", headers={"X-Request-ID": rid}).status_code
        == 200
    )
    seen = _one(admin, rid, "conversation.read")
    assert (seen["actor_id"], seen["target_id"], seen["details"]) == (
        agent_id, conversation_id, {"contact_id": contact["id"]},
    )  # fmt: skip


def test_exports_merges_erasures_and_admin_changes_are_recorded(client: TestClient, session: Session) -> None:
    admin, admin_id = logged_in(client, session, Role.admin)
    target = admin.post("/api/v1/contacts", json={"name": NAME, "email": EMAIL}).json()
    source = admin.post("/api/v1/contacts", json={"name": NAME + " 2", "phone": PHONE}).json()
    tid = str(target["id"])
    for method, path, body, action in [
        ("GET", f"/api/v1/contacts/{tid}/export", None, "contact.export"),
        ("POST", f"/api/v1/contacts/{tid}/merge", {"source_id": source["id"]}, "contact.merge"),
        ("DELETE", f"/api/v1/contacts/{tid}", None, "contact.erase"),
    ]:
        rid = _rid()
        answer = admin.request(method, path, json=body, headers={"X-Request-ID": rid})
        assert answer.status_code == 200, (path, answer.text)
        entry = _one(admin, rid, action)
        assert (entry["actor_id"], entry["actor_role"], entry["target_id"]) == (admin_id, "admin", tid)
    assert _entries(admin, action="contact.merge", target_id=tid)[0]["details"] == {"source_id": source["id"]}

    rid = _rid()
    created = admin.post(
        "/api/v1/users",
        json={"username": f"new-{uuid.uuid4().hex[:8]}", "password": PASSWORD, "role": "agent"},
        headers={"X-Request-ID": rid},
    ).json()
    assert _one(admin, rid, "user.create")["target_id"] == str(created["id"])
    rid = _rid()
    admin.patch(f"/api/v1/users/{created['id']}", json={"role": "admin", "password": "another pass 2"},
                headers={"X-Request-ID": rid})  # fmt: skip
    assert _one(admin, rid, "user.role_change")["details"] == {"from": "agent", "to": "admin"}
    assert _one(admin, rid, "user.update")["details"] == {"fields": ["password", "role"], "active": True}

    rid = _rid()
    faq = admin.post(
        "/api/v1/kb/faqs",
        json={
            "question": "Audit question?",
            "answer": "Audit answer.",
            "language": "en",
            "status": "published",
        },
        headers={"X-Request-ID": rid},
    ).json()
    assert _one(admin, rid, "kb.publish")["target_id"] == faq["id"]
    rid = _rid()
    assert admin.delete(f"/api/v1/kb/faqs/{faq['id']}", headers={"X-Request-ID": rid}).status_code == 204
    assert _one(admin, rid, "kb.delete")["target_type"] == "faq"

    rid = _rid()
    ticket = admin.post(
        "/api/v1/tickets", json={"subject": "Audit ticket"}, headers={"X-Request-ID": rid}
    ).json()
    assert _one(admin, rid, "ticket.create")["target_id"] == ticket["number"]
    rid = _rid()
    admin.patch(
        f"/api/v1/tickets/{ticket['number']}", json={"priority": "high"}, headers={"X-Request-ID": rid}
    )
    assert _one(admin, rid, "ticket.update")["details"]["fields"] == ["priority"]


def test_filters_narrow_the_list(client: TestClient, session: Session) -> None:
    admin, admin_id = logged_in(client, session, Role.admin)
    agent, agent_id = logged_in(client, session, Role.agent)
    contact = agent.post("/api/v1/contacts", json={"name": NAME}).json()
    agent.get(f"/api/v1/contacts/{contact['id']}")
    mine = _entries(admin, actor_id=agent_id)
    assert {e["action"] for e in mine} == {"auth.login", "contact.create", "contact.read"}
    assert all(e["actor_id"] == agent_id for e in mine)
    assert {e["action"] for e in _entries(admin, actor_id=agent_id, action="contact.")} == {
        "contact.create", "contact.read",
    }  # fmt: skip
    by_target = _entries(admin, target_type="contact", target_id=str(contact["id"]))
    assert {e["action"] for e in by_target} == {"contact.create", "contact.read"}
    after = utcnow() + timedelta(minutes=5)
    assert _entries(admin, actor_id=agent_id, **{"from": after.isoformat()}) == []
    assert len(_entries(admin, actor_id=agent_id, to=after.isoformat())) == len(mine)
    page = admin.get("/api/v1/audit", params={"actor_id": agent_id, "limit": 1}).json()
    assert (len(page["items"]), page["total"]) == (1, len(mine))
    assert admin_id != agent_id


def test_only_admins_read_the_audit_log(client: TestClient, session: Session) -> None:
    agent, _ = logged_in(client, session, Role.agent)
    assert agent.get("/api/v1/audit").status_code == 403
    assert agent.get("/api/v1/audit.csv").status_code == 403
    assert TestClient(client.app).get("/api/v1/audit").status_code == 401
    page = TestClient(client.app).get("/admin/audit", follow_redirects=False)
    assert page.status_code == 303


def test_the_csv_export_guards_formula_cells_and_is_itself_recorded(
    client: TestClient, session: Session
) -> None:
    admin, admin_id = logged_in(client, session, Role.admin)
    name, user_id = _user(session, Role.agent, prefix="@")  # a spreadsheet would run "@..." as a formula
    TestClient(client.app).post(
        "/api/v1/auth/token", data={"username": name, "password": PASSWORD}, headers={"X-Request-ID": "-1:2"}
    )
    answer = admin.get("/api/v1/audit.csv", params={"actor_id": user_id}, headers={"X-Request-ID": "csv-1"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["action"] for r in rows] == ["auth.login"]
    assert rows[0]["actor_username"] == "'" + name
    assert rows[0]["request_id"] == "'-1:2"
    exported = [e for e in _entries(admin, action="audit.export") if e["request_id"] == "csv-1"]
    assert exported[0]["actor_id"] == admin_id and exported[0]["details"] == {"actor_id": user_id}


def test_no_route_changes_or_deletes_an_entry(client: TestClient, session: Session) -> None:
    routes = list(iter_route_contexts(client.app.routes))  # every route, through the included routers
    audit_routes = {(r.path, frozenset(r.methods or ())) for r in routes if "audit" in r.path}
    assert {path for path, _ in audit_routes} == {"/api/v1/audit", "/api/v1/audit.csv", "/admin/audit"}
    assert all(methods <= {"GET", "HEAD"} for _, methods in audit_routes), audit_routes
    admin, _ = logged_in(client, session, Role.admin)
    entry_id = _entries(admin)[0]["id"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/v1/audit", f"/api/v1/audit/{entry_id}"):
            assert admin.request(method, path, json={}).status_code in (404, 405), (method, path)
    assert _entries(admin)[0]["id"] >= entry_id


def _add(session: Session, **fields: Any) -> AuditEntry:
    entry = AuditEntry(action="test.entry", details={}, **fields)
    session.add(entry)
    session.commit()
    return entry


def test_the_database_refuses_to_change_or_delete_an_entry(session: Session) -> None:
    entry = _add(session)
    with pytest.raises(IntegrityError):
        session.execute(update(AuditEntry).where(AuditEntry.id == entry.id).values(action="forged"))
    session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entry.id})
    session.rollback()
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.id == entry.id)) == "test.entry"


def test_the_retention_job_deletes_only_entries_past_the_retention(session: Session) -> None:
    now = utcnow()
    old = _add(session, at=now - timedelta(days=40))
    recent = _add(session, at=now - timedelta(days=10))
    assert purge(session, days=30, now=now) >= 1
    ids = set(session.scalars(select(AuditEntry.id).where(AuditEntry.id.in_([old.id, recent.id]))))
    assert ids == {recent.id}
    # The purge's cutoff lets nothing younger go afterwards either.
    with pytest.raises(IntegrityError):
        session.execute(delete(AuditEntry).where(AuditEntry.id == recent.id))
    session.rollback()
    done = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.purge")).all()
    assert any(e.details.get("retention_days") == 30 for e in done)


def test_the_retention_job_is_a_periodic_task() -> None:
    from crm_bridge.jobs.queue import huey
    from crm_bridge.worker import audit_purge

    assert audit_purge.name == "audit.purge"
    assert audit_purge.task_class in huey._registry._periodic_tasks
    hourly = [datetime(2026, 1, 1, h, 41, tzinfo=UTC) for h in range(24)]
    assert all(audit_purge.task_class().validate_datetime(t) for t in hourly)


def test_details_never_carry_personal_data(client: TestClient, session: Session) -> None:
    with pytest.raises(ValueError):
        audit.clean_details({"email": EMAIL})
    with pytest.raises(ValueError):
        audit.clean_details({"nested": {"phone": PHONE}})
    admin, _ = logged_in(client, session, Role.admin)
    contact = admin.post("/api/v1/contacts", json={"name": NAME, "email": EMAIL, "phone": PHONE}).json()
    admin.patch(f"/api/v1/contacts/{contact['id']}", json={"name": NAME + " Jr", "email": "x" + EMAIL})
    admin.get(f"/api/v1/contacts/{contact['id']}/export")
    everything = session.scalars(select(AuditEntry)).all()
    dumped = json.dumps([e.details for e in everything], ensure_ascii=False)
    for personal in (EMAIL, PHONE, NAME, PASSWORD, "another pass 2"):
        assert personal not in dumped
    assert {"fields": ["email", "name"]} in [e.details for e in everything if e.action == "contact.update"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_0015_upgrades_downgrades_and_upgrades_again(kind: str, tmp_path: Path) -> None:
    with fresh_database(kind, tmp_path) as url:
        upgrade(url)
        command.downgrade(alembic_config(url), "0014")
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            entry = _add(session)
            with pytest.raises(IntegrityError):
                session.execute(text("UPDATE audit_log SET action = 'x' WHERE id = :id"), {"id": entry.id})
        engine.dispose()
