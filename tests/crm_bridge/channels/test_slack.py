"""The Slack channel through its real webhook route, the job queue's worker threads, a fake bot and a
local fake Web API (tests/fakes/slack_server.py, which follows the documented formats). Requests are
signed with slack_sdk's own SignatureVerifier, the independent reference for Slack's v0 scheme."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_bridge.channels.models import ChannelEvent, Delivery, DeliveryStatus
from crm_bridge.channels.slack import parse
from crm_bridge.contacts.models import Contact, ContactIdentity
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.users.models import Role, User
from kefu_core.texts import say
from tests.app_fixtures import logged_in
from tests.crm_bridge.channels.apps import channel_app, wait_for
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.slack_server import FakeSlack
from tests.helpers import kefu_env

TOKEN = "xoxb-test-slack-token-not-real"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER = "U0FAKEBOT"
URL = "/webhooks/slack/events"
_ids = itertools.count(uuid.uuid4().int % 10**8)


@dataclass
class Env:
    client: TestClient
    rasa: FakeRasa
    slack: FakeSlack


@pytest.fixture(scope="module")
def env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """crm_bridge with the Slack channel on, worker threads, a fake bot and a fake Web API."""
    rasa, slack = FakeRasa().start(), FakeSlack(TOKEN).start()
    settings = {
        "KEFU_SLACK_BOT_TOKEN": TOKEN,
        "KEFU_SLACK_SIGNING_SECRET": SECRET,
        "KEFU_SLACK_API_URL": slack.url,
        "KEFU_ESCALATION_KEYWORDS": "talk to a human",
    }
    with channel_app(db_url, tmp_path_factory, rasa, **settings) as client:
        yield Env(client, rasa, slack)
    rasa.stop()
    slack.stop()


def dm_channel() -> str:
    return f"D{next(_ids):09d}"


def dm(channel: str, text: str | None, *, event_id: str | None = None, **event: Any) -> dict[str, Any]:
    """An event_callback as Slack sends it for a message in the app's DM (message.im)."""
    ts = f"{time.time():.6f}"
    message: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": f"U{channel[1:]}",
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        "team": "T0KEFU",
        "client_msg_id": str(uuid.uuid4()),
        **event,
    }
    if text is not None:
        message["text"] = text
    return {
        "token": "legacy-verification-token",
        "team_id": "T0KEFU",
        "api_app_id": "A0KEFU",
        "event": message,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):010d}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T0KEFU", "user_id": BOT_USER, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def signed_headers(raw: bytes, *, secret: str = SECRET, age_s: int = 0) -> dict[str, str]:
    """Headers as Slack sends them, the signature made by slack_sdk (not by the code under test)."""
    timestamp = str(int(time.time()) - age_s)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=raw)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }


def post(env: Env, body: Any, *, raw: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    """POST a body to the webhook, signed (extra headers override the signed ones)."""
    data = raw if raw is not None else json.dumps(body).encode()
    return env.client.post(URL, content=data, headers={**signed_headers(data), **(headers or {})})


def counter(session: Session, kind: str) -> int:
    session.expire_all()
    row = session.get(ChannelEvent, ("slack", kind))
    return row.count if row is not None else 0


def conversation_of(session: Session, channel: str) -> Conversation:
    session.expire_all()
    return session.scalars(
        select(Conversation)
        .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
        .where(ContactIdentity.channel == "slack", ContactIdentity.external_id == channel)
        .order_by(Conversation.started_at.desc())
    ).first() or pytest.fail("no conversation")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"type":"url_verification","challenge":"x"}',
        "你好 &lt; é".encode(),
        json.dumps(dm("D1", "x" * 5000)).encode(),
    ],
)
def test_our_signature_agrees_with_slack_sdk(body: bytes) -> None:
    verifier = SignatureVerifier(SECRET)
    timestamp = str(int(time.time()))
    reference = verifier.generate_signature(timestamp=timestamp, body=body)
    assert parse.signature(SECRET, timestamp, body) == reference
    assert parse.verify(SECRET, timestamp, reference, body, now=time.time()) is None
    assert verifier.is_valid(body, timestamp, reference)
    tampered = body + b" "
    assert parse.verify(SECRET, timestamp, reference, tampered, now=time.time()) == "wrong signature"
    assert not verifier.is_valid(tampered, timestamp, reference)
    stale = str(int(time.time()) - 301)
    old = verifier.generate_signature(timestamp=stale, body=body)
    assert parse.verify(SECRET, stale, old, body, now=time.time()) is not None
    assert not verifier.is_valid(body, stale, old)


def test_not_configured_is_404(env: Env) -> None:
    with kefu_env(KEFU_SLACK_BOT_TOKEN=""):
        response = post(env, dm(dm_channel(), "hi"))
    assert response.status_code == 404


def test_url_verification_answers_the_challenge_only_when_signed(env: Env) -> None:
    body = {
        "token": "legacy",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    response = post(env, body)
    assert response.status_code == 200 and response.json() == {"challenge": body["challenge"]}
    unsigned = env.client.post(URL, json=body)
    assert unsigned.status_code == 401


def test_wrong_missing_or_stale_signatures_are_401_counted_and_nothing_stored(
    env: Env, session: Session
) -> None:
    body = dm(dm_channel(), "hello")
    raw = json.dumps(body).encode()
    before = counter(session, "verification_failed")
    attempts = [
        {},  # no headers at all
        {**signed_headers(raw), "X-Slack-Signature": "v0=" + "0" * 64},
        signed_headers(raw, secret="another-apps-signing-secret"),
        signed_headers(raw, age_s=301),  # a replay from more than five minutes ago
        {**signed_headers(raw), "X-Slack-Request-Timestamp": "yesterday"},
    ]
    for headers in attempts:
        response = env.client.post(URL, content=raw, headers=headers)
        assert response.status_code == 401, headers
        assert set(response.json()["error"]) >= {"code", "message", "request_id"}
    # A body changed after signing (the signature of the original) is refused too.
    forged = json.dumps(dm(body["event"]["channel"], "hello", event_id=body["event_id"] + "x")).encode()
    assert env.client.post(URL, content=forged, headers=signed_headers(raw)).status_code == 401
    assert counter(session, "verification_failed") == before + len(attempts) + 1
    assert session.scalars(select(Turn).where(Turn.platform_id == body["event_id"])).first() is None
    time.sleep(0.5)
    assert env.slack.texts(body["event"]["channel"]) == []


def test_a_dm_is_answered_through_the_web_api(env: Env, session: Session) -> None:
    channel = dm_channel()
    body = dm(channel, "Is 2 &lt; 3 &amp; <https://shop.example/p/1|this one> in stock?")
    body["event"]["user_profile"] = {"real_name": "Wang Fang", "display_name": "fang"}
    response = post(env, body)
    assert response.status_code == 200 and response.json()["handled"] == "text"
    wait_for(lambda: env.slack.texts(channel) != [])
    # The bot read plain text; the reply's markup characters were escaped for Slack.
    assert "Is 2 < 3 & this one in stock?" in [m for _, m in env.rasa.calls]
    assert env.slack.texts(channel) == ["echo: Is 2 &lt; 3 &amp; this one in stock?"]
    identity = session.scalars(
        select(ContactIdentity).where(
            ContactIdentity.channel == "slack", ContactIdentity.external_id == channel
        )
    ).one()
    contact = session.get(Contact, identity.contact_id)
    assert contact is not None and contact.name == "fang"
    delivery = session.scalars(
        select(Delivery).where(Delivery.conversation_id == conversation_of(session, channel).id)
    ).one()
    assert delivery.status is DeliveryStatus.sent and delivery.platform_message_id


def test_a_retried_event_is_processed_once(env: Env) -> None:
    channel = dm_channel()
    body = dm(channel, "Where is my parcel?")
    first = post(env, body)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    again = post(env, body, headers=retry)
    assert first.status_code == again.status_code == 200
    wait_for(lambda: env.slack.texts(channel) != [])
    time.sleep(1.5)  # a second answer would have arrived by now
    assert env.slack.texts(channel) == ["echo: Where is my parcel?"]


def test_malformed_and_oversized_bodies(env: Env, session: Session) -> None:
    before = counter(session, "malformed")
    assert post(env, None, raw=b"{not json").status_code == 400
    no_id = dm(dm_channel(), "hi")
    del no_id["event_id"]
    assert post(env, no_id).status_code == 400
    assert post(env, [1, 2]).status_code == 400
    assert counter(session, "malformed") == before + 3
    assert post(env, None, raw=b"x" * 1_000_001).status_code == 413


def test_bots_subtypes_channels_and_other_events_are_ignored_and_counted(env: Env, session: Session) -> None:
    channel = dm_channel()
    own = dm(channel, "echo: hi", bot_id="B0FAKEBOT", user=BOT_USER, app_id="A0KEFU")
    own_no_bot_id = dm(channel, "echo: hi", user=BOT_USER)
    other_bot = dm(channel, "beep", subtype="bot_message", bot_id="B0OTHER")
    edited = dm(channel, None, subtype="message_changed", message={"text": "edited"})
    deleted = dm(channel, None, subtype="message_deleted", deleted_ts="1.2")
    in_channel = dm("C0PUBLIC01", "hello all", channel_type="channel")
    reaction = dm(channel, None)
    reaction["event"] = {"type": "reaction_added", "user": "U1", "reaction": "thumbsup"}
    bodies = [own, own_no_bot_id, other_bot, edited, deleted, in_channel, reaction]
    before = counter(session, "ignored")
    for body in bodies:
        response = post(env, body)
        assert response.status_code == 200 and response.json()["handled"] == "ignored", body["event"]
    assert counter(session, "ignored") == before + len(bodies)
    time.sleep(1.0)
    assert env.slack.texts(channel) == [] and env.slack.texts("C0PUBLIC01") == []
    assert (
        session.scalars(select(Turn).where(Turn.platform_id.in_([b["event_id"] for b in bodies]))).all() == []
    )


def test_a_file_gets_a_polite_text_only_reply(env: Env) -> None:
    channel = dm_channel()
    body = dm(channel, "", subtype="file_share", files=[{"id": "F0001", "name": "photo.jpg"}])
    response = post(env, body)
    assert response.status_code == 200 and response.json()["handled"] == "non_text"
    wait_for(lambda: env.slack.texts(channel) != [])
    assert env.slack.texts(channel) == [say("text_only", "en")]
    assert "[file]" not in [m for _, m in env.rasa.calls]  # never sent to the bot


def test_quick_replies_become_text_lines(env: Env) -> None:
    channel = dm_channel()
    post(env, dm(channel, "buttons please"))
    wait_for(lambda: env.slack.texts(channel) != [])
    assert env.slack.texts(channel) == ["echo: buttons please\n\n• Yes\n• No"]


def test_ratelimited_is_retried_after_retry_after_and_sent_once(env: Env) -> None:
    channel = dm_channel()
    env.slack.fail_next(1, "ratelimited", retry_after=2)
    before = len(env.slack.attempts)
    post(env, dm(channel, "are you there"))
    wait_for(lambda: env.slack.texts(channel) != [])
    first_try = env.slack.attempts[before]
    accepted = next(m for m in env.slack.sent if m["channel"] == channel)
    assert accepted["at"] - first_try >= 2.0
    time.sleep(1.0)
    assert env.slack.texts(channel) == ["echo: are you there"]


def test_a_permanent_error_marks_the_delivery_failed_with_the_reason(env: Env, session: Session) -> None:
    channel = dm_channel()
    env.slack.fail_next(1, "channel_not_found")
    before = len(env.slack.attempts)
    post(env, dm(channel, "hello"))

    def failed() -> Delivery | None:
        session.expire_all()
        stmt = select(Delivery).where(
            Delivery.conversation_id == conversation_of(session, channel).id,
            Delivery.status == DeliveryStatus.failed,
        )
        return session.scalars(stmt).first()

    wait_for(lambda: failed() is not None)
    delivery = failed()
    assert delivery is not None and "channel_not_found" in (delivery.last_error or "")
    assert delivery.attempts == 1 and len(env.slack.attempts) == before + 1  # not retried
    assert env.slack.texts(channel) == []


def test_escalation_agent_reply_on_slack_and_handback(env: Env, session: Session) -> None:
    session.execute(update(User).values(online=False))  # only this test's agent takes the chat
    session.commit()
    agent, _ = logged_in(env.client, session, Role.agent)
    assert agent.post("/api/v1/agent/status", json={"online": True}).status_code == 200
    channel = dm_channel()
    post(env, dm(channel, "I want to talk to a human"))
    wait_for(lambda: env.slack.texts(channel) != [])
    conversation = conversation_of(session, channel)
    assert conversation.status is ConversationStatus.queued
    assert env.rasa.messages(conversation.id) == []  # the keyword handed over before the bot

    accepted = agent.post(f"/api/v1/agent/conversations/{conversation.id}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "agent"
    reply = agent.post(
        f"/api/v1/agent/conversations/{conversation.id}/messages", json={"text": "Hi, I am Ann <support>."}
    )
    assert reply.status_code == 201
    wait_for(lambda: "Hi, I am Ann &lt;support&gt;." in env.slack.texts(channel))

    thanks = dm(channel, "thanks Ann")
    post(env, thanks)  # goes to the agent, not to the bot

    def answered() -> bool:
        session.expire_all()
        turn = session.scalars(select(Turn).where(Turn.platform_id == thanks["event_id"])).one()
        return turn.status is not TurnStatus.pending

    wait_for(answered)  # handing back before the worker saw this turn would let the bot answer it
    back = agent.post(f"/api/v1/agent/conversations/{conversation.id}/handback")
    assert back.json()["status"] == "bot"
    post(env, dm(channel, "one more question"))
    wait_for(lambda: "echo: one more question" in env.slack.texts(channel))
    assert env.rasa.messages(conversation.id) == ["one more question"]
    roles = [
        m.role
        for m in session.scalars(select(Message).where(Message.conversation_id == conversation.id)).all()
        if m.role is not MessageRole.customer
    ]
    assert MessageRole.agent in roles and MessageRole.system in roles
    deliveries = session.scalars(select(Delivery).where(Delivery.conversation_id == conversation.id)).all()
    assert deliveries and all(d.status is DeliveryStatus.sent for d in deliveries)
