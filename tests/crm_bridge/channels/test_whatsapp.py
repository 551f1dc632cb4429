"""The WhatsApp channel through its real webhook routes, the job queue's worker threads, a fake bot and a
local fake Cloud API (tests/fakes/whatsapp_server.py, which follows Meta's documented formats). Webhook
bodies are built as Meta documents them and signed here with Python's hmac, independently of the code
under test."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_bridge.channels.models import ChannelEvent, Delivery, DeliveryStatus
from crm_bridge.channels.whatsapp import parse
from crm_bridge.contacts.models import Contact, ContactIdentity
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.users.models import Role, User
from kefu_core.db import utcnow
from kefu_core.texts import say
from tests.app_fixtures import logged_in
from tests.crm_bridge.channels.apps import channel_app, wait_for
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.whatsapp_server import FakeWhatsApp
from tests.helpers import kefu_env

TOKEN = "EAAG-test-whatsapp-token-not-real"
PHONE_ID = "106540352242922"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY = "verify-token-0123456789"
URL = "/webhooks/whatsapp"
_numbers = itertools.count(uuid.uuid4().int % 10**7 * 10)


@dataclass
class Env:
    client: TestClient
    rasa: FakeRasa
    wa: FakeWhatsApp


@pytest.fixture(scope="module")
def env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """crm_bridge with the WhatsApp channel on, worker threads, a fake bot and a fake Cloud API."""
    rasa, wa = FakeRasa().start(), FakeWhatsApp(TOKEN, PHONE_ID).start()
    settings = {
        "KEFU_WHATSAPP_ACCESS_TOKEN": TOKEN,
        "KEFU_WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "KEFU_WHATSAPP_APP_SECRET": APP_SECRET,
        "KEFU_WHATSAPP_VERIFY_TOKEN": VERIFY,
        "KEFU_WHATSAPP_API_URL": wa.url,
        "KEFU_ESCALATION_KEYWORDS": "talk to a human",
    }
    with channel_app(db_url, tmp_path_factory, rasa, **settings) as client:
        yield Env(client, rasa, wa)
    rasa.stop()
    wa.stop()


def new_wa_id() -> str:
    """A valid Chinese mobile number in WhatsApp's form (country code, no `+`)."""
    return f"86138{next(_numbers) % 10**8:08d}"


def wamid() -> str:
    return "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=" + secrets.token_hex(6)


def notification(value: dict[str, Any], phone_number_id: str = PHONE_ID) -> dict[str, Any]:
    """The envelope Meta posts for the `messages` field."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def inbound(
    wa_id: str,
    kind: str = "text",
    *,
    message_id: str | None = None,
    name: str = "Sheena Nelson",
    **content: Any,
) -> dict[str, Any]:
    """A customer's message as Meta documents it (`content` is the kind's object)."""
    if kind == "text" and not content:
        content = {"text": {"body": "hello"}}
    message = {
        "from": wa_id,
        "id": message_id or wamid(),
        "timestamp": str(int(time.time())),
        "type": kind,
        **content,
    }
    return notification({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]})


def text(wa_id: str, body: str, **kwargs: Any) -> dict[str, Any]:
    return inbound(wa_id, "text", text={"body": body}, **kwargs)


def status(
    message_id: str, wa_id: str, state: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A status notification as Meta documents it."""
    report: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
    }
    if errors:
        report["errors"] = errors
    else:
        report["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        report["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    return notification({"statuses": [report]})


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    """X-Hub-Signature-256 computed here with Python's hmac, not with the code under test."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(env: Env, body: Any, *, raw: bytes | None = None, signature: str | None = None) -> Response:
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature or sign(data)}
    return env.client.post(URL, content=data, headers=headers)


def counter(session: Session, kind: str) -> int:
    session.expire_all()
    row = session.get(ChannelEvent, ("whatsapp", kind))
    return row.count if row is not None else 0


def conversation_of(session: Session, wa_id: str) -> Conversation:
    session.expire_all()
    return session.scalars(
        select(Conversation)
        .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
        .where(ContactIdentity.channel == "whatsapp", ContactIdentity.external_id == wa_id)
        .order_by(Conversation.started_at.desc())
    ).first() or pytest.fail("no conversation")


def deliveries(session: Session, wa_id: str) -> list[Delivery]:
    session.expire_all()
    stmt = select(Delivery).where(Delivery.conversation_id == conversation_of(session, wa_id).id)
    return list(session.scalars(stmt.order_by(Delivery.id)).all())


def test_the_signature_is_metas_hmac_over_the_raw_body(env: Env) -> None:
    raw = json.dumps(text(new_wa_id(), "签名 ✓"), ensure_ascii=False).encode()
    assert parse.signature(APP_SECRET, raw) == sign(raw)
    assert parse.verify(APP_SECRET, sign(raw), raw) is None
    assert parse.verify(APP_SECRET, sign(raw + b" "), raw) == "wrong signature"
    assert post(env, None, raw=raw).status_code == 200


def test_not_configured_is_404(env: Env) -> None:
    with kefu_env(KEFU_WHATSAPP_APP_SECRET=""):
        assert post(env, text(new_wa_id(), "hi")).status_code == 404
        assert env.client.get(URL, params={"hub.mode": "subscribe"}).status_code == 404


def test_subscription_check(env: Env, session: Session) -> None:
    ok = env.client.get(
        URL, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    before = counter(session, "verification_failed")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY + "x", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ):
        assert env.client.get(URL, params=params).status_code == 403
    assert counter(session, "verification_failed") == before + 3


def test_a_wrong_or_missing_signature_is_401_counted_and_nothing_stored(env: Env, session: Session) -> None:
    message_id = wamid()
    body = text(new_wa_id(), "hello", message_id=message_id)
    raw = json.dumps(body).encode()
    before = counter(session, "verification_failed")
    for signature in (sign(raw, "another-apps-secret"), "sha256=" + "0" * 64, sign(raw)[7:]):
        assert post(env, None, raw=raw, signature=signature).status_code == 401
    missing = env.client.post(URL, content=raw, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    assert counter(session, "verification_failed") == before + 4
    assert session.scalars(select(Turn).where(Turn.platform_id == message_id)).first() is None


def test_a_text_is_answered_and_the_contact_gets_phone_and_name(env: Env, session: Session) -> None:
    wa_id = new_wa_id()
    response = post(env, text(wa_id, "Does it come in another color?"))
    assert response.status_code == 200 and response.json()["messages"] == 1
    wait_for(lambda: env.wa.texts(wa_id) != [])
    sent = env.wa.to(wa_id)[0]
    assert sent["messaging_product"] == "whatsapp" and sent["type"] == "text"
    assert sent["text"]["body"] == "echo: Does it come in another color?"
    identity = session.scalars(
        select(ContactIdentity).where(
            ContactIdentity.channel == "whatsapp", ContactIdentity.external_id == wa_id
        )
    ).one()
    contact = session.get(Contact, identity.contact_id)
    assert contact is not None and contact.name == "Sheena Nelson" and contact.phone == f"+{wa_id}"
    wait_for(lambda: deliveries(session, wa_id)[0].status is DeliveryStatus.sent)
    assert deliveries(session, wa_id)[0].platform_message_id == sent["wamid"]
    # A phone the contact already has is kept.
    contact.phone = "+8613900000000"
    session.commit()
    post(env, text(wa_id, "and in blue?", name="Sheena N."))
    wait_for(lambda: len(env.wa.texts(wa_id)) == 2)
    session.expire_all()
    assert session.get(Contact, identity.contact_id).phone == "+8613900000000"  # type: ignore[union-attr]


def test_a_duplicate_wamid_is_processed_once(env: Env) -> None:
    wa_id = new_wa_id()
    body = text(wa_id, "Where is my parcel?")
    assert post(env, body).json()["messages"] == 1
    assert post(env, body).json()["messages"] == 0
    wait_for(lambda: env.wa.texts(wa_id) != [])
    time.sleep(1.5)  # a second answer would have arrived by now
    assert env.wa.texts(wa_id) == ["echo: Where is my parcel?"]


def test_statuses_mark_deliveries_delivered_or_failed(env: Env, session: Session) -> None:
    wa_id = new_wa_id()
    post(env, text(wa_id, "first"))
    wait_for(lambda: [d.status for d in deliveries(session, wa_id)] == [DeliveryStatus.sent])
    first = deliveries(session, wa_id)[0].platform_message_id
    assert first is not None
    assert post(env, status(first, wa_id, "sent")).json()["statuses"] == 1
    assert deliveries(session, wa_id)[0].status is DeliveryStatus.sent  # `sent` is not `delivered`
    assert post(env, status(first, wa_id, "delivered")).json()["statuses"] == 1
    assert deliveries(session, wa_id)[0].status is DeliveryStatus.delivered
    assert deliveries(session, wa_id)[0].delivered_at is not None
    post(env, status(first, wa_id, "read"))
    assert deliveries(session, wa_id)[0].status is DeliveryStatus.delivered

    post(env, text(wa_id, "second"))
    wait_for(
        lambda: (
            len(deliveries(session, wa_id)) == 2
            and deliveries(session, wa_id)[1].platform_message_id is not None
        )
    )
    second = deliveries(session, wa_id)[1].platform_message_id
    assert second is not None
    error = {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Unable to deliver the message: the recipient's app is too old"},
    }
    post(env, status(second, wa_id, "failed", errors=[error]))
    failed = deliveries(session, wa_id)[1]
    assert failed.status is DeliveryStatus.failed
    assert "131026" in (failed.last_error or "") and "Message undeliverable" in (failed.last_error or "")

    before = counter(session, "ignored")
    unknown = post(env, status(wamid(), wa_id, "delivered"))
    assert unknown.status_code == 200 and unknown.json()["statuses"] == 0
    assert counter(session, "ignored") == before + 1


@pytest.mark.parametrize(
    ("kind", "content", "language"),
    [
        (
            "image",
            {"image": {"id": "1234", "mime_type": "image/jpeg", "sha256": "abc", "caption": "看这个"}},
            "zh",
        ),
        ("sticker", {"sticker": {"id": "5678", "mime_type": "image/webp", "animated": False}}, "en"),
        ("location", {"location": {"latitude": 31.23, "longitude": 121.47, "name": "Shop"}}, "en"),
        ("audio", {"audio": {"id": "91011", "mime_type": "audio/ogg; codecs=opus", "voice": True}}, "en"),
    ],
)
def test_a_non_text_message_gets_the_text_only_reply(
    env: Env, kind: str, content: dict[str, Any], language: str
) -> None:
    wa_id = new_wa_id()
    response = post(env, inbound(wa_id, kind, **content))
    assert response.status_code == 200 and response.json()["messages"] == 1
    wait_for(lambda: env.wa.texts(wa_id) != [])
    assert env.wa.texts(wa_id) == [say("text_only", language)]
    assert f"[{kind}]" not in [m for _, m in env.rasa.calls]  # never sent to the bot


def test_quick_replies_go_as_reply_buttons_and_a_tap_is_a_turn(env: Env) -> None:
    wa_id = new_wa_id()
    post(env, text(wa_id, "buttons please"))
    wait_for(lambda: env.wa.to(wa_id) != [])
    sent = env.wa.to(wa_id)[0]
    assert sent["type"] == "interactive" and sent["interactive"]["type"] == "button"
    assert sent["interactive"]["body"]["text"] == "echo: buttons please"
    titles = [b["reply"]["title"] for b in sent["interactive"]["action"]["buttons"]]
    assert titles == ["Yes", "No"]
    reply_id = sent["interactive"]["action"]["buttons"][0]["reply"]["id"]
    tap = inbound(
        wa_id,
        "interactive",
        context={"from": "15550783881", "id": sent["wamid"]},
        interactive={"type": "button_reply", "button_reply": {"id": reply_id, "title": "Yes"}},
    )
    assert post(env, tap).json()["messages"] == 1
    wait_for(lambda: len(env.wa.texts(wa_id)) == 2)
    assert env.wa.texts(wa_id)[1] == "echo: Yes"


def test_a_long_reply_is_split_at_4096_characters(env: Env) -> None:
    wa_id = new_wa_id()
    body = ("word " * 819).strip()  # 4,094 characters; the echo is 4,100
    post(env, text(wa_id, body))
    wait_for(lambda: len(env.wa.texts(wa_id)) == 2)
    parts = env.wa.texts(wa_id)
    assert all(len(part) <= 4096 for part in parts)
    assert " ".join(parts).split() == f"echo: {body}".split()


@pytest.mark.parametrize(("code", "http_status"), [(130429, 400), (131056, 400), (4, 429)])
def test_rate_limits_are_retried_and_the_reply_sent_once(env: Env, code: int, http_status: int) -> None:
    wa_id = new_wa_id()
    env.wa.fail_next(1, code, http_status)
    before = len(env.wa.attempts)
    post(env, text(wa_id, "are you there"))
    wait_for(lambda: env.wa.texts(wa_id) != [])
    assert len(env.wa.attempts) - before == 2
    time.sleep(1.0)
    assert env.wa.texts(wa_id) == ["echo: are you there"]


@pytest.mark.parametrize(
    ("code", "http_status", "expected"), [(131047, 400, "24-hour"), (190, 401, "access token")]
)
def test_re_engagement_and_auth_errors_fail_at_once_with_a_clear_reason(
    env: Env, session: Session, code: int, http_status: int, expected: str
) -> None:
    wa_id = new_wa_id()
    env.wa.fail_next(1, code, http_status)
    before = len(env.wa.attempts)
    post(env, text(wa_id, "hello"))
    wait_for(lambda: [d.status for d in deliveries(session, wa_id)] == [DeliveryStatus.failed])
    delivery = deliveries(session, wa_id)[0]
    assert expected in (delivery.last_error or "") and str(code) in (delivery.last_error or "")
    assert delivery.attempts == 1 and len(env.wa.attempts) == before + 1


def test_other_numbers_other_objects_and_malformed_bodies(env: Env, session: Session) -> None:
    wa_id = new_wa_id()
    before = counter(session, "ignored")
    other = text(wa_id, "hello", message_id=(other_id := wamid()))
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999999"
    assert post(env, other).json() == {"ok": True, "messages": 0, "statuses": 0, "ignored": 1}
    page = {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": []}]}
    assert post(env, page).json()["ignored"] == 1
    reaction = inbound(wa_id, "reaction", reaction={"message_id": wamid(), "emoji": "👍"})
    assert post(env, reaction).json()["ignored"] == 1
    assert counter(session, "ignored") == before + 3
    assert session.scalars(select(Turn).where(Turn.platform_id == other_id)).first() is None

    malformed = counter(session, "malformed")
    assert post(env, None, raw=b"{not json").status_code == 400
    assert post(env, {"object": "whatsapp_business_account", "entry": {"id": 1}}).status_code == 400
    no_id = text(wa_id, "hi")
    del no_id["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert post(env, no_id).status_code == 400
    assert counter(session, "malformed") == malformed + 3
    assert post(env, None, raw=b"x" * 1_000_001).status_code == 413
    time.sleep(0.5)
    assert env.wa.texts(wa_id) == []


def _accepted_chat(env: Env, session: Session, wa_id: str) -> tuple[TestClient, Conversation]:
    """The customer asks for a human; a new agent (the only one online) accepts."""
    session.execute(update(User).values(online=False))
    session.commit()
    agent, _ = logged_in(env.client, session, Role.agent)
    assert agent.post("/api/v1/agent/status", json={"online": True}).status_code == 200
    post(env, text(wa_id, "I want to talk to a human"))
    wait_for(lambda: env.wa.texts(wa_id) != [])
    conversation = conversation_of(session, wa_id)
    assert conversation.status is ConversationStatus.queued
    accepted = agent.post(f"/api/v1/agent/conversations/{conversation.id}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "agent"
    wait_for(lambda: all(d.status is DeliveryStatus.sent for d in deliveries(session, wa_id)))
    return agent, conversation


def test_escalation_agent_reply_on_whatsapp_and_handback(env: Env, session: Session) -> None:
    wa_id = new_wa_id()
    agent, conversation = _accepted_chat(env, session, wa_id)
    assert env.rasa.messages(conversation.id) == []  # the keyword handed over before the bot
    reply = agent.post(
        f"/api/v1/agent/conversations/{conversation.id}/messages", json={"text": "Hi, I am Ann."}
    )
    assert reply.status_code == 201
    wait_for(lambda: "Hi, I am Ann." in env.wa.texts(wa_id))

    thanks_id = wamid()
    post(env, text(wa_id, "thanks Ann", message_id=thanks_id))  # goes to the agent, not to the bot

    def answered() -> bool:
        session.expire_all()
        turn = session.scalars(select(Turn).where(Turn.platform_id == thanks_id)).one()
        return turn.status is not TurnStatus.pending

    wait_for(answered)  # handing back before the worker saw this turn would let the bot answer it
    back = agent.post(f"/api/v1/agent/conversations/{conversation.id}/handback")
    assert back.json()["status"] == "bot"
    post(env, text(wa_id, "one more question"))
    wait_for(lambda: "echo: one more question" in env.wa.texts(wa_id))
    assert env.rasa.messages(conversation.id) == ["one more question"]
    sent = deliveries(session, wa_id)
    assert sent and all(d.status is DeliveryStatus.sent for d in sent)
    assert any(d.message.role is MessageRole.agent for d in sent)


def test_an_agent_reply_outside_the_24_hour_window_is_refused(env: Env, session: Session) -> None:
    wa_id = new_wa_id()
    agent, conversation = _accepted_chat(env, session, wa_id)
    session.execute(
        update(Message)
        .where(Message.conversation_id == conversation.id, Message.role == MessageRole.customer)
        .values(created_at=utcnow() - timedelta(hours=25))
    )
    session.commit()
    before = len(env.wa.texts(wa_id))
    refused = agent.post(
        f"/api/v1/agent/conversations/{conversation.id}/messages", json={"text": "Still there?"}
    )
    assert refused.status_code == 409
    assert (
        "24-hour" in refused.json()["error"]["message"] and "25 hours" in refused.json()["error"]["message"]
    )
    note = agent.post(
        f"/api/v1/agent/conversations/{conversation.id}/messages",
        json={"text": "customer silent", "internal": True},
    )
    assert note.status_code == 201  # internal notes never leave kefu
    session.expire_all()
    assert (
        session.scalars(
            select(Message).where(Message.text == "Still there?", Message.conversation_id == conversation.id)
        ).first()
        is None
    )

    post(env, text(wa_id, "sorry, I am back"))  # the customer writes: the window opens again
    allowed = agent.post(
        f"/api/v1/agent/conversations/{conversation.id}/messages", json={"text": "Welcome back"}
    )
    assert allowed.status_code == 201
    wait_for(lambda: "Welcome back" in env.wa.texts(wa_id))
    assert len(env.wa.texts(wa_id)) == before + 1
