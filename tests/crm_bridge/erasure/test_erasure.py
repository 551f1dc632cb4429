"""Erasure that leaves no trace (issue 22 item 8, PIPL): one contact's name, email, phone and a secret are
seeded everywhere a customer's words reach (widget, REST chat and the fake bot's echoes, an agent's reply
and note, a Telegram chat, the ticket form and its events, feedback, the unanswered inbox and the FAQ
variant and entry made from it, the Zoho outbox and the fake Zoho, a dead job, Rasa's tracker store); the
export holds them; after DELETE /api/v1/contacts/{id} no table of the database (every text and JSON
column, reflected), no tracker event and no Zoho record holds any of them."""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, insert, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from crm_bridge.app import create_app
from crm_bridge.connectors.zoho import ZohoConnector, ZohoSettings
from crm_bridge.conversations.models import Conversation
from crm_bridge.jobs import queue
from crm_bridge.jobs.models import DeadJob
from crm_bridge.outbox import service as outbox
from crm_bridge.users.models import Role
from knowledge_base.models import UnansweredQuestion
from tests.app_fixtures import SERVICE_TOKEN, logged_in
from tests.crm_bridge.widget.conftest import frames_until
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.zoho_server import FakeZoho
from tests.helpers import kefu_env, postgres_database

pytestmark = pytest.mark.timeout(420)  # the app start builds the KB index: slow on a busy machine

TOKEN = "123456:TEST-telegram-token-not-real"
WEBHOOK_SECRET = "webhook-secret-0123456789abcdef"
_ids = itertools.count(int(time.time()) * 1000)

# Rasa's tracker store schema (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent, Rasa 3.6).
_TRACKER = MetaData()
EVENTS = Table(
    "events",
    _TRACKER,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class Env:
    client: TestClient
    zoho: FakeZoho
    telegram: FakeTelegram
    tracker: Engine
    jobs_file: Path


@pytest.fixture(scope="module")
def env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """crm_bridge with job workers, the fake bot, Telegram, Zoho and a Rasa tracker store of the same kind
    as the database (SQLite file, or a PostgreSQL database reached by host/user/db as Rasa is)."""
    with ExitStack() as stack:
        rasa, telegram, zoho = FakeRasa().start(), FakeTelegram(TOKEN).start(), FakeZoho()
        zoho.start()
        stack.callback(rasa.stop)
        stack.callback(telegram.stop)
        stack.callback(zoho.stop)
        folder = Path(tmp_path_factory.mktemp("erasure"))
        if db_url.startswith("postgresql"):
            url = make_url(stack.enter_context(postgres_database()))
            tracker_env = {
                "RASA_TRACKER_DIALECT": "postgresql",
                "RASA_TRACKER_HOST": f"{url.host}:{url.port or 5432}",
                "RASA_TRACKER_DB": url.database or "",
                "RASA_TRACKER_USER": url.username or "",
                "RASA_TRACKER_PASSWORD": url.password or "",
            }
            tracker = create_engine(url)
        else:
            tracker_env = {
                "RASA_TRACKER_DIALECT": "sqlite",
                "RASA_TRACKER_DB": str(folder / "rasa_tracker.db"),
            }
            tracker = create_engine(f"sqlite:///{folder / 'rasa_tracker.db'}")
        _TRACKER.create_all(tracker)
        stack.callback(tracker.dispose)
        jobs = folder / "jobs.db"
        stack.enter_context(
            kefu_env(
                DATABASE_URL=db_url,
                RASA_URL=rasa.url,
                ACTION_SERVER_URL=rasa.url,
                KEFU_SERVICE_TOKEN=SERVICE_TOKEN,
                KEFU_RASA_TIMEOUT="2",
                KEFU_TELEGRAM_BOT_TOKEN=TOKEN,
                KEFU_TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                KEFU_TELEGRAM_API_URL=telegram.url,
                KEFU_JOBS_SQLITE_PATH=str(jobs),
                KEFU_JOBS_APP_WORKERS="2",
                KEFU_ZOHO_ACCOUNTS_URL=zoho.url,
                KEFU_ZOHO_API_DOMAIN=zoho.url,
                KEFU_ZOHO_CLIENT_ID=zoho.client_id,
                KEFU_ZOHO_CLIENT_SECRET=zoho.client_secret,
                KEFU_ZOHO_REFRESH_TOKEN=zoho.refresh_token,
                **tracker_env,
            )
        )
        client = stack.enter_context(TestClient(create_app()))
        yield Env(client, zoho, telegram, tracker, jobs)
    queue.configure()


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@dataclass
class Person:
    """The four strings that must not survive erasure."""

    name: str
    email: str
    phone: str
    secret: str

    @property
    def needles(self) -> dict[str, str]:
        # The unique last name (Zoho stores the name split), the email, the phone's digits, the secret.
        return {
            "name": self.name.split()[-1].lower(),
            "email": self.email,
            "phone": self.phone.lstrip("+"),
            "secret": self.secret,
        }

    def sentence(self, lead: str) -> str:
        return f"{lead}: I am {self.name}, {self.email}, {self.phone}; {self.secret}"


def new_person() -> Person:
    uid = uuid.uuid4().hex[:10]
    phone = "+86138" + "".join(random.choice("0123456789") for _ in range(8))
    return Person(f"Zhang Erasable{uid}", f"erase-{uid}@example.com", phone, f"secret-{uid}-lychee")


def _as_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def scan_database(url: str, needles: dict[str, str]) -> list[str]:
    """Every (table.column: what) where a needle appears, over every table and column of the database."""
    engine = create_engine(url)
    found: list[str] = []
    try:
        meta = MetaData()
        meta.reflect(bind=engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    for column, value in zip(table.columns, row, strict=True):
                        text = _as_text(value).lower()
                        found += [
                            f"{table.name}.{column.name}: {what}" for what, n in needles.items() if n in text
                        ]
    finally:
        engine.dispose()
    return found


def scan_tracker(tracker: Engine, needles: dict[str, str]) -> list[str]:
    """Needles in any column of Rasa's events."""
    with tracker.connect() as conn:
        rows = conn.execute(select(EVENTS)).all()
    return [
        f"events: {what}" for row in rows for what, n in needles.items() if n in _as_text(list(row)).lower()
    ]


def scan_zoho(zoho: FakeZoho, needles: dict[str, str]) -> list[str]:
    with zoho.lock:
        text = json.dumps(zoho.records, ensure_ascii=False).lower()
    return [what for what, n in needles.items() if n in text]


def deliver_outbox() -> None:
    connector = ZohoConnector(ZohoSettings())
    try:
        with Session(create_engine_for_outbox()) as session:
            for _ in range(4):  # items of one record go in order; a few rounds drain them
                outbox.process_due(session, connector, connector_name="zoho")
    finally:
        connector.close()


def create_engine_for_outbox() -> Engine:
    from kefu_core.db import get_engine

    return get_engine()


def telegram_update(chat_id: int, text: str, person: Person) -> dict[str, Any]:
    first, last = person.name.split()
    sender = {"id": chat_id, "is_bot": False, "first_name": first, "last_name": last, "language_code": "en"}
    message = {
        "message_id": next(_ids) % 100000,
        "from": sender,
        "chat": {"id": chat_id, "first_name": first, "last_name": last, "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    return {"update_id": next(_ids), "message": message}


def seed(env: Env, session: Session, person: Person) -> dict[str, Any]:
    """Put the person's data everywhere; the main contact's id, its conversations and the widget token."""
    client = env.client
    admin, _ = logged_in(client, session, Role.admin)
    service = TestClient(client.app)
    service.headers["Authorization"] = f"Bearer {SERVICE_TOKEN}"

    # REST chat (the fake bot echoes, so the bot's message holds the secret too), then a human.
    user_id = f"erase-{uuid.uuid4().hex[:10]}"
    chat = client.post("/api/v1/chat", json={"user_id": user_id, "text": person.sentence("hello")}).json()
    cid = chat["conversation_id"]
    wait_for(lambda: any(m["role"] == "bot" for m in client.get(
        f"/api/v1/chat/{cid}/messages", params={"user_id": user_id}).json()["messages"]))  # fmt: skip
    contact_id = admin.get(f"/api/v1/conversations/{cid}").json()["contact_id"]
    assert (
        admin.patch(
            f"/api/v1/contacts/{contact_id}",
            json={"name": person.name, "email": person.email, "phone": person.phone},
        ).status_code
        == 200
    )
    admin.post("/api/v1/agent/status", json={"online": True})
    escalated = service.post(
        f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request", "note": person.secret}
    )
    assert escalated.status_code == 200, escalated.text
    if escalated.json()["outcome"] == "queued":
        assert admin.post(f"/api/v1/agent/conversations/{cid}/accept").status_code == 200
    for body in ({"text": person.sentence("agent says")}, {"text": person.secret, "internal": True}):
        reply = admin.post(f"/api/v1/agent/conversations/{cid}/messages", json=body)
        assert reply.status_code == 201, reply.text
    admin.post(f"/api/v1/agent/conversations/{cid}/resolve")

    # The ticket form and its timeline; feedback.
    ticket = admin.post(
        "/api/v1/tickets",
        json={"subject": f"Refund {person.secret}", "description": person.sentence("ticket"),
              "contact_id": contact_id, "conversation_id": cid},
    ).json()  # fmt: skip
    event = admin.post(
        f"/api/v1/tickets/{ticket['number']}/events",
        json={"kind": "public_reply", "body": person.sentence("re")},
    )
    assert event.status_code == 201, event.text
    feedback = admin.post(
        "/api/v1/feedback",
        json={"rating": 2, "comment": person.sentence("feedback"), "contact_id": contact_id},
    )
    assert feedback.status_code == 201, feedback.text

    # The unanswered inbox (as the action server logs it), a variant and an entry made from it.
    for n in (1, 2):
        found = service.get(
            "/api/v1/kb/search",
            params={"q": f"zxqv {person.secret} {person.email} {n}", "log": "true", "conversation_id": cid},
        )
        assert found.status_code == 200 and found.json()["decision"] == "none", found.text
    items = session.scalars(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.conversation_id == cid)
        .order_by(UnansweredQuestion.id)
    ).all()
    assert len(items) == 2
    entry = admin.post(
        "/api/v1/kb/faqs",
        json={"question": f"Erasure test {uuid.uuid4().hex[:6]}?", "answer": "An answer.", "language": "en",
              "status": "published", "variants": []},
    ).json()  # fmt: skip
    added = admin.post(f"/api/v1/kb/unanswered/{items[0].id}/add-variant", json={"faq_id": entry["id"]})
    assert added.status_code == 200, added.text
    started = admin.post(f"/api/v1/kb/unanswered/{items[1].id}/new-entry", json={"answer": "Later."})
    assert started.status_code == 201, started.text

    # The widget: another contact, merged into the first one.
    token = client.post("/api/v1/widget/session", json={"language": "en"}).json()["token"]
    with client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "message", "client_id": "m-1", "text": person.sentence("widget")})
        frames_until(ws, lambda f: f["type"] == "message" and f.get("role") == "bot")
    widget_cid = client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {token}"}).json()[
        "conversation_id"
    ]
    widget_contact = admin.get(f"/api/v1/conversations/{widget_cid}").json()["contact_id"]

    # Telegram: a third contact (named by Telegram), its reply delivered, merged too.
    chat_id = next(_ids) % 10**9
    sent = client.post(
        "/webhooks/telegram",
        json=telegram_update(chat_id, person.sentence("telegram"), person),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert sent.status_code == 200, sent.text
    wait_for(lambda: env.telegram.texts(chat_id) != [])
    tg_contact = next(
        c["id"]
        for c in admin.get("/api/v1/contacts", params={"limit": 500}).json()["items"]
        if {"channel": "telegram", "external_id": str(chat_id)} in c["identities"]
    )
    for source in (widget_contact, tg_contact):
        merged = admin.post(f"/api/v1/contacts/{contact_id}/merge", json={"source_id": source})
        assert merged.status_code == 200, merged.text

    # Zoho: deliver what is queued, then leave one change pending.
    deliver_outbox()
    assert scan_zoho(env.zoho, person.needles) != []
    admin.patch(f"/api/v1/contacts/{contact_id}", json={"name": person.name + " Jr"})

    conversation_ids = list(
        session.scalars(select(Conversation.id).where(Conversation.contact_id == contact_id))
    )
    session.add(DeadJob(task="turns.process", job_id=uuid.uuid4().hex, args=[cid], kwargs={}, error="boom"))
    session.commit()
    with env.tracker.begin() as conn:  # what Rasa's tracker store holds for these conversations
        for conversation_id in conversation_ids:
            for kind, data in (
                ("user", {"event": "user", "text": person.sentence("tracker")}),
                ("bot", {"event": "bot", "text": "echo: " + person.secret}),
                ("slot", {"event": "slot", "name": "email", "value": person.email}),
            ):
                conn.execute(insert(EVENTS).values(sender_id=conversation_id, type_name=kind,
                                                   timestamp=time.time(), data=json.dumps(data)))  # fmt: skip
        conn.execute(insert(EVENTS).values(sender_id="someone-else", type_name="user", data='{"text": "hi"}'))
    return {"admin": admin, "contact_id": contact_id, "cid": cid, "token": token, "entry": entry["id"],
            "conversations": conversation_ids, "chat_id": chat_id}  # fmt: skip


def test_export_then_erasure_leaves_no_trace(env: Env, session: Session, db_url: str) -> None:
    person = new_person()
    seeded = seed(env, session, person)
    admin, contact_id = seeded["admin"], seeded["contact_id"]
    assert len(seeded["conversations"]) == 3  # REST, widget and Telegram, merged into one contact

    # Before: the database, the tracker and Zoho hold all four, and the export returns all of it.
    before = scan_database(db_url, person.needles)
    assert {f.rsplit(": ", 1)[1] for f in before} == set(person.needles)
    # Each place the seeding had to reach holds some of it (so the empty scan after erasure means something).
    reached = {f.split(".", 1)[0] for f in before}
    assert reached >= {
        "contacts", "messages", "tickets", "ticket_events", "feedback", "escalations", "kb_unanswered",
        "faq_variants", "faq_entries", "faq_revisions", "outbox_items",
    }, reached  # fmt: skip
    exported = admin.get(f"/api/v1/contacts/{contact_id}/export").json()
    assert list(exported)[:5] == ["contact", "identities", "conversations", "tickets", "feedback"]
    text = json.dumps(exported, ensure_ascii=False).lower()
    assert all(n in text for n in person.needles.values())
    roles = {
        m["role"] for c in exported["conversations"] for m in c["messages"] if person.secret in m["text"]
    }
    assert roles == {"customer", "bot", "agent"}  # bot echoes and the agent's reply and note
    assert any(m["internal"] for c in exported["conversations"] for m in c["messages"])
    assert {i["channel"] for i in exported["identities"]} >= {"api", "web", "telegram"}
    assert person.secret in exported["tickets"][0]["description"]
    assert any(person.secret in e["body"] for e in exported["tickets"][0]["events"])
    assert person.secret in exported["feedback"][0]["comment"]
    assert len(exported["unanswered_questions"]) == 2
    assert len(exported["merged_contacts"]) == 2 and len(exported["widget_sessions"]) == 1
    assert any(e["note"] == person.secret for c in exported["conversations"] for e in c["escalations"])

    # A live widget socket of the contact is told and closed when the contact is erased.
    with env.client.websocket_connect(f"/api/v1/widget/ws?token={seeded['token']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        erased = admin.delete(f"/api/v1/contacts/{contact_id}")
        assert erased.status_code == 200, erased.text
        assert frames_until(ws, lambda f: f["type"] == "session_revoked")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
    body = erased.json()
    assert body["erased_at"] and body["name"] is None and body["email"] is None and body["phone"] is None
    deliver_outbox()  # the CRM deletion goes through the outbox

    assert scan_database(db_url, person.needles) == []
    assert scan_tracker(env.tracker, person.needles) == []
    with env.tracker.connect() as conn:  # other people's trackers stay
        assert conn.execute(select(EVENTS.c.id).where(EVENTS.c.sender_id == "someone-else")).all()
        gone = conn.execute(select(EVENTS.c.id).where(EVENTS.c.sender_id.in_(seeded["conversations"]))).all()
    assert gone == []
    assert scan_zoho(env.zoho, person.needles) == []
    assert person.secret.encode() not in env.jobs_file.read_bytes()  # the job queue holds ids only

    # The widget session is revoked; tickets, conversations and figures stay; the FAQ entry stays, without
    # the variant; the entry started from the question is archived; erasing again is harmless.
    history = env.client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {seeded['token']}"})
    assert history.status_code == 401
    after = admin.get(f"/api/v1/contacts/{contact_id}/export").json()
    assert after["erased_at"] and len(after["conversations"]) == 3
    assert {m["text"] for c in after["conversations"] for m in c["messages"]} == {"[erased]"}
    assert after["tickets"][0]["description"] == "[erased]" and after["feedback"][0]["rating"] == 2
    assert admin.get(f"/api/v1/kb/faqs/{seeded['entry']}").json()["variants"] == []
    assert admin.delete(f"/api/v1/contacts/{contact_id}").status_code == 200
    assert session.scalars(select(DeadJob).where(DeadJob.error == "boom")).all() == [] or all(
        seeded["cid"] not in json.dumps(j.args) for j in session.scalars(select(DeadJob))
    )
