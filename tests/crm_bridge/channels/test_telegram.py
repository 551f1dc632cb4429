"""The Telegram channel through its real webhook route, the job queue's worker threads, a fake bot and
a local fake Bot API (tests/fakes/telegram_server.py, which follows the documented formats)."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.contacts.models import Contact, ContactIdentity
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, MessageRole
from crm_bridge.turns.models import Turn
from kefu.cli import main
from kefu_core.texts import say
from tests.crm_bridge.channels.apps import channel_app, wait_for
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import kefu_env

TOKEN = "123456:TEST-telegram-token-not-real"
SECRET = "webhook-secret-0123456789abcdef"
HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
_update_ids = itertools.count(int(time.time()) * 1000)
_chat_ids = itertools.count(uuid.uuid4().int % 10**9)


@dataclass
class Env:
    client: TestClient
    rasa: FakeRasa
    telegram: FakeTelegram


@pytest.fixture(scope="module")
def env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """crm_bridge with the Telegram channel on, worker threads, a fake bot and a fake Bot API."""
    rasa, telegram = FakeRasa().start(), FakeTelegram(TOKEN).start()
    settings = {
        "KEFU_TELEGRAM_BOT_TOKEN": TOKEN,
        "KEFU_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "KEFU_TELEGRAM_API_URL": telegram.url,
    }
    with channel_app(db_url, tmp_path_factory, rasa, **settings) as client:
        yield Env(client, rasa, telegram)
    rasa.stop()
    telegram.stop()


def update(
    chat_id: int, text: str | None = None, *, update_id: int | None = None, **message: Any
) -> dict[str, Any]:
    """An Update as Telegram sends it for a private message."""
    sender = {
        "id": chat_id,
        "is_bot": False,
        "first_name": "Wang",
        "last_name": "Fang",
        "language_code": "en",
    }
    body: dict[str, Any] = {
        "message_id": next(_update_ids) % 100000,
        "from": sender,
        "chat": {"id": chat_id, "first_name": "Wang", "last_name": "Fang", "type": "private"},
        "date": int(time.time()),
        **message,
    }
    if text is not None:
        body["text"] = text
    return {"update_id": next(_update_ids), "message": body}


def test_not_configured_is_404(env: Env) -> None:
    with kefu_env(KEFU_TELEGRAM_BOT_TOKEN=""):
        response = env.client.post("/webhooks/telegram", json=update(1, "hi"), headers=HEADER)
    assert response.status_code == 404
    assert response.json()["error"]["code"]


def test_a_wrong_or_missing_secret_is_401_and_nothing_is_stored(env: Env, session: Session) -> None:
    body = update(next(_chat_ids), "hello")
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1] + "x"}):
        response = env.client.post("/webhooks/telegram", json=body, headers=headers)
        assert response.status_code == 401
        assert set(response.json()["error"]) >= {"code", "message", "request_id"}
    stored = session.scalars(select(Turn).where(Turn.platform_id == str(body["update_id"]))).first()
    assert stored is None


def test_a_text_message_delivered_twice_is_answered_once(env: Env, session: Session) -> None:
    chat_id = next(_chat_ids)
    body = update(chat_id, "How long does delivery take?")
    for _ in range(2):
        response = env.client.post("/webhooks/telegram", json=body, headers=HEADER)
        assert response.status_code == 200 and response.json()["handled"] == "text"
    wait_for(lambda: env.telegram.texts(chat_id) != [])
    time.sleep(1.5)  # a second answer would have arrived by now
    assert env.telegram.texts(chat_id) == ["echo: How long does delivery take?"]
    identity = session.scalars(
        select(ContactIdentity).where(
            ContactIdentity.channel == "telegram", ContactIdentity.external_id == str(chat_id)
        )
    ).one()
    contact = session.get(Contact, identity.contact_id)
    assert contact is not None and contact.name == "Wang Fang"
    delivery = session.scalars(
        select(Delivery).where(Delivery.channel == "telegram").order_by(Delivery.id.desc())
    ).first()
    assert delivery is not None and delivery.status is DeliveryStatus.sent and delivery.sent_at


def test_twenty_quick_messages_are_all_answered_in_order(env: Env) -> None:
    chat_id = next(_chat_ids)
    texts = [f"message {i}" for i in range(20)]
    for text in texts:
        assert (
            env.client.post("/webhooks/telegram", json=update(chat_id, text), headers=HEADER).status_code
            == 200
        )
    wait_for(lambda: len(env.telegram.texts(chat_id)) == len(texts), timeout=60)
    assert env.telegram.texts(chat_id) == [f"echo: {text}" for text in texts]


@pytest.mark.parametrize(("language", "kind"), [("en", "sticker"), ("zh", "photo")])
def test_a_non_text_message_gets_a_polite_text_only_reply(env: Env, language: str, kind: str) -> None:
    chat_id = next(_chat_ids)
    body = update(chat_id, **{kind: {"file_id": "AgAD"}})
    body["message"]["from"]["language_code"] = "zh-hans" if language == "zh" else "en"
    response = env.client.post("/webhooks/telegram", json=body, headers=HEADER)
    assert response.status_code == 200 and response.json()["handled"] == "non_text"
    wait_for(lambda: env.telegram.texts(chat_id) != [])
    assert env.telegram.texts(chat_id) == [say("text_only", language)]
    assert not any(message == f"[{kind}]" for _, message in env.rasa.calls)  # never sent to the bot


def test_edits_groups_and_other_updates_are_200_and_ignored(env: Env) -> None:
    chat_id = next(_chat_ids)
    edited = update(chat_id, "edited text")
    edited["edited_message"] = edited.pop("message")
    group = update(chat_id, "hello group")
    group["message"]["chat"] = {"id": -100123, "title": "Shop fans", "type": "supergroup"}
    callback = {"update_id": next(_update_ids), "callback_query": {"id": "1", "data": "/affirm"}}
    for body in (edited, group, callback):
        response = env.client.post("/webhooks/telegram", json=body, headers=HEADER)
        assert response.status_code == 200 and response.json()["handled"] == "ignored"
    time.sleep(1.0)
    assert env.telegram.texts(chat_id) == [] and env.telegram.texts(-100123) == []


def test_malformed_and_oversized_bodies(env: Env) -> None:
    bad = env.client.post(
        "/webhooks/telegram", content=b"{not json", headers={**HEADER, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert env.client.post("/webhooks/telegram", json={"message": {}}, headers=HEADER).status_code == 400
    big = env.client.post(
        "/webhooks/telegram", content=b"x" * 1_000_001, headers={**HEADER, "Content-Type": "application/json"}
    )
    assert big.status_code == 413


def test_a_long_reply_is_split_at_4096_characters(env: Env) -> None:
    chat_id = next(_chat_ids)
    text = ("word " * 819).strip()  # 4,094 characters; the echo is 4,100
    env.client.post("/webhooks/telegram", json=update(chat_id, text), headers=HEADER)
    wait_for(lambda: len(env.telegram.texts(chat_id)) == 2)
    parts = env.telegram.texts(chat_id)
    assert all(len(part) <= 4096 for part in parts)
    assert " ".join(parts).split() == f"echo: {text}".split()


def test_429_retry_after_is_honoured_and_the_reply_sent_once(env: Env) -> None:
    chat_id = next(_chat_ids)
    env.telegram.fail_next(1, 429, retry_after=2)
    before = len(env.telegram.attempts)
    env.client.post("/webhooks/telegram", json=update(chat_id, "are you there"), headers=HEADER)
    wait_for(lambda: env.telegram.texts(chat_id) != [])
    first_try = env.telegram.attempts[before]
    accepted = next(m for m in env.telegram.sent if m["chat_id"] == chat_id)
    assert accepted["at"] - first_try >= 2.0
    time.sleep(1.0)
    assert env.telegram.texts(chat_id) == ["echo: are you there"]


def test_a_blocked_bot_marks_the_delivery_failed_with_the_reason(env: Env, session: Session) -> None:
    chat_id = next(_chat_ids)
    env.telegram.fail_next(1, 403)
    env.client.post("/webhooks/telegram", json=update(chat_id, "hello"), headers=HEADER)

    def failed() -> Delivery | None:
        session.expire_all()
        stmt = (
            select(Delivery)
            .join(Conversation, Conversation.id == Delivery.conversation_id)
            .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
            .where(
                ContactIdentity.channel == "telegram",
                ContactIdentity.external_id == str(chat_id),
                Delivery.status == DeliveryStatus.failed,
            )
        )
        return session.scalars(stmt).first()

    wait_for(lambda: failed() is not None)
    delivery = failed()
    assert delivery is not None and "blocked by the user" in (delivery.last_error or "")
    assert env.telegram.texts(chat_id) == []


def test_an_agent_reply_goes_out_on_telegram(env: Env, session: Session) -> None:
    chat_id = next(_chat_ids)
    env.client.post("/webhooks/telegram", json=update(chat_id, "hello"), headers=HEADER)
    wait_for(lambda: env.telegram.texts(chat_id) != [])
    conversation = session.scalars(
        select(Conversation)
        .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
        .where(ContactIdentity.channel == "telegram", ContactIdentity.external_id == str(chat_id))
    ).one()
    conversations.add_message(
        session, conversation=conversation, role=MessageRole.agent, text="Hi, I am Ann.", language="en"
    )
    conversations.add_message(
        session, conversation=conversation, role=MessageRole.agent, text="note", language="en", internal=True
    )
    session.commit()
    wait_for(lambda: len(env.telegram.texts(chat_id)) == 2)
    time.sleep(0.5)
    assert env.telegram.texts(chat_id) == ["echo: hello", "Hi, I am Ann."]  # the internal note stays inside


def test_set_webhook_registers_the_url_with_the_secret(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://shop.example/webhooks/telegram"
    assert main(["channels", "telegram", "set-webhook", "--url", url]) == 0
    assert env.telegram.webhook["url"] == url and env.telegram.webhook["secret_token"] == SECRET
    assert TOKEN not in capsys.readouterr().out  # the bot token is never printed
    assert main(["channels", "telegram", "set-webhook", "--url", "http://shop.example/hook"]) == 2


def test_quick_replies_become_a_one_time_reply_keyboard(env: Env) -> None:
    chat_id = next(_chat_ids)
    env.client.post("/webhooks/telegram", json=update(chat_id, "buttons please"), headers=HEADER)
    wait_for(lambda: env.telegram.texts(chat_id) != [])
    sent = next(m for m in env.telegram.sent if m["chat_id"] == chat_id)
    assert sent["text"] == "echo: buttons please"
    assert sent["reply_markup"] == {
        "keyboard": [[{"text": "Yes"}], [{"text": "No"}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }
