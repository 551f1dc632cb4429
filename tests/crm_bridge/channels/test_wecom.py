"""The WeCom (微信客服) channel through its real webhook routes, the job queue's worker threads, a fake
bot and a local fake WeCom API (tests/fakes/wecom_server.py, which follows the documented formats).
Callbacks are encrypted and signed by wechatpy's WeChatCrypto, as WeCom does."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from crm_bridge.channels import stats
from crm_bridge.channels.models import ChannelCursor, ChannelEvent, Delivery, DeliveryStatus
from crm_bridge.channels.wecom import api
from crm_bridge.channels.wecom.crypto import signature
from crm_bridge.channels.wecom.parse import xml_fields
from crm_bridge.contacts.models import ContactIdentity
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.turns.models import Turn
from crm_bridge.users.models import Role
from kefu_core.texts import say
from tests.app_fixtures import logged_in
from tests.crm_bridge.channels.apps import channel_app, wait_for
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.wecom_server import FakeWeCom
from tests.helpers import kefu_env

CORP_ID = "ww0123456789abcdef"
SECRET = "kf-secret-not-real-0123456789"
TOKEN = "callbackToken123"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
SERVICE_TOKEN = "test-service-token-0123456789abcdef"


@dataclass
class Env:
    client: TestClient
    rasa: FakeRasa
    wecom: FakeWeCom


@pytest.fixture(scope="module")
def env(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """crm_bridge with the WeCom channel on, worker threads, a fake bot and a fake WeCom API."""
    rasa, wecom = FakeRasa().start(), FakeWeCom(CORP_ID, SECRET).start()
    api.forget_tokens()
    settings = {
        "KEFU_WECOM_CORP_ID": CORP_ID,
        "KEFU_WECOM_SECRET": SECRET,
        "KEFU_WECOM_TOKEN": TOKEN,
        "KEFU_WECOM_AES_KEY": AES_KEY,
        "KEFU_WECOM_API_URL": wecom.url,
    }
    with channel_app(db_url, tmp_path_factory, rasa, **settings) as client:
        yield Env(client, rasa, wecom)
    rasa.stop()
    wecom.stop()


def ids() -> tuple[str, str]:
    """A fresh kf account and customer (each test reads its own stream)."""
    return f"wk{uuid.uuid4().hex[:16]}", f"wm{uuid.uuid4().hex[:24]}"


def event_xml(open_kfid: str, token: str = "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR") -> str:
    """The decrypted kf_msg_or_event callback, as documented."""
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><CreateTime>1348831860</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
    )


def post_callback(env: Env, plain: str, *, corp_id: str = CORP_ID, tamper: bool = False) -> Response:
    """POST a callback encrypted and signed by wechatpy (for `corp_id`), in WeCom's envelope."""
    nonce, timestamp = uuid.uuid4().hex[:10], str(int(time.time()))
    sealed = xml_fields(
        WeChatCrypto(TOKEN, AES_KEY, corp_id).encrypt_message(plain, nonce, timestamp).encode()
    )
    signed = sealed["MsgSignature"]
    if tamper:
        signed = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]>"
        "</Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
    )
    params = {"msg_signature": signed, "timestamp": timestamp, "nonce": nonce}
    return env.client.post("/webhooks/wecom", params=params, content=body.encode())


def counted(session: Session, kind: str) -> int:
    session.expire_all()
    row = session.get(ChannelEvent, ("wecom", kind))
    return row.count if row is not None else 0


def conversation_of(session: Session, open_kfid: str, user: str) -> Conversation:
    session.expire_all()
    return session.scalars(
        select(Conversation)
        .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
        .where(ContactIdentity.channel == "wecom", ContactIdentity.external_id == f"{open_kfid}:{user}")
        .order_by(Conversation.started_at.desc())
    ).first()  # type: ignore[return-value]


def say_hello(env: Env, open_kfid: str, user: str, text: str, replies: int = 1) -> str:
    """The customer writes; WeCom calls back; wait until `replies` texts reached the customer."""
    msgid = env.wecom.queue_message(open_kfid, user, text={"content": text})
    assert post_callback(env, event_xml(open_kfid)).text == "success"
    wait_for(lambda: len(env.wecom.texts(user)) >= replies)
    return msgid


def test_not_configured_is_404(env: Env) -> None:
    with kefu_env(KEFU_WECOM_SECRET=""):
        assert env.client.get("/webhooks/wecom", params={"echostr": "x"}).status_code == 404
        assert env.client.post("/webhooks/wecom", content=b"<xml/>").status_code == 404


def test_url_verification_answers_the_decrypted_echostr(env: Env, session: Session) -> None:
    echostr = PrpCrypto(WeChatCrypto(TOKEN, AES_KEY, CORP_ID).key).encrypt("5927782489442352469", CORP_ID)
    echo = echostr.decode()
    query = {"timestamp": "1409659589", "nonce": "263014780", "echostr": echo}
    good = env.client.get(
        "/webhooks/wecom", params={**query, "msg_signature": signature(TOKEN, *query.values())}
    )
    assert good.status_code == 200 and good.text == "5927782489442352469"
    assert good.headers["content-type"].startswith("text/plain")
    before = counted(session, stats.VERIFICATION_FAILED)
    wrong = signature(TOKEN + "x", *query.values())
    for params in ({**query, "msg_signature": wrong}, query):
        assert env.client.get("/webhooks/wecom", params=params).status_code == 401
    assert counted(session, stats.VERIFICATION_FAILED) == before + 2


def test_a_wrong_signature_or_corp_id_is_401_nothing_pulled_and_counted(env: Env, session: Session) -> None:
    open_kfid, user = ids()
    env.wecom.queue_message(open_kfid, user, text={"content": "hello"})
    before = counted(session, stats.VERIFICATION_FAILED)
    assert post_callback(env, event_xml(open_kfid), tamper=True).status_code == 401
    assert post_callback(env, event_xml(open_kfid), corp_id="wwSomeOtherCorp").status_code == 401
    time.sleep(1.0)
    assert counted(session, stats.VERIFICATION_FAILED) == before + 2
    assert not [c for c in env.wecom.sync_calls if c["open_kfid"] == open_kfid]
    assert env.wecom.texts(user) == [] and conversation_of(session, open_kfid, user) is None


def test_malformed_and_oversized_bodies(env: Env, session: Session) -> None:
    before = counted(session, stats.MALFORMED)
    params = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    entity = b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
    for body in (b"<xml><Encrypt>abc", b"not xml at all", entity, b"<xml><ToUserName>ww</ToUserName></xml>"):
        assert env.client.post("/webhooks/wecom", params=params, content=body).status_code == 400
    assert counted(session, stats.MALFORMED) == before + 4
    big = env.client.post("/webhooks/wecom", params=params, content=b"x" * 1_000_001)
    assert big.status_code == 413


def test_a_text_message_is_pulled_answered_and_sent(env: Env, session: Session) -> None:
    open_kfid, user = ids()
    msgid = say_hello(env, open_kfid, user, "How long does delivery take?")
    time.sleep(1.0)
    assert env.wecom.texts(user) == ["echo: How long does delivery take?"]
    pull = next(c for c in env.wecom.sync_calls if c["open_kfid"] == open_kfid)
    assert pull["token"].startswith("ENC") and pull["limit"] == 1000 and pull["cursor"] == ""
    sent = next(m for m in env.wecom.sent if m["touser"] == user)
    assert sent["open_kfid"] == open_kfid and sent["msgtype"] == "text"
    turn = session.scalars(select(Turn).where(Turn.channel == "wecom", Turn.platform_id == msgid)).one()
    delivery = session.scalars(select(Delivery).where(Delivery.conversation_id == turn.conversation_id)).one()
    assert delivery.status is DeliveryStatus.sent and delivery.platform_message_id == sent["msgid"]


def test_duplicate_callbacks_and_repeated_msgids_are_answered_once(env: Env) -> None:
    open_kfid, user = ids()
    env.wecom.queue_message(open_kfid, user, text={"content": "what are your opening hours"})
    for _ in range(3):
        assert post_callback(env, event_xml(open_kfid)).text == "success"
    wait_for(lambda: env.wecom.texts(user) != [])
    env.wecom.queue_entry(open_kfid, dict(env.wecom.stream[open_kfid][0]))  # WeCom repeats the msgid
    post_callback(env, event_xml(open_kfid))
    time.sleep(1.5)
    assert env.wecom.texts(user) == ["echo: what are your opening hours"]


def test_the_cursor_is_saved_and_the_next_pull_starts_there(env: Env, session: Session) -> None:
    open_kfid, user = ids()
    env.wecom.page_size = 2
    try:
        for i in range(3):
            env.wecom.queue_message(open_kfid, user, text={"content": f"message {i}"})
        post_callback(env, event_xml(open_kfid))
        wait_for(lambda: len(env.wecom.texts(user)) == 3)
        pulls = [c["cursor"] for c in env.wecom.sync_calls if c["open_kfid"] == open_kfid]
        assert pulls == ["", "cur2"]  # has_more followed
        session.expire_all()
        assert session.get(ChannelCursor, ("wecom", open_kfid)).value == "cur3"  # type: ignore[union-attr]
        say_hello(env, open_kfid, user, "message 3", replies=4)
        pulls = [c["cursor"] for c in env.wecom.sync_calls if c["open_kfid"] == open_kfid]
        assert pulls[2] == "cur3"
    finally:
        env.wecom.page_size = 1000
    assert env.wecom.texts(user) == [f"echo: message {i}" for i in range(4)]


def test_non_text_gets_a_polite_reply_and_events_are_ignored(env: Env, session: Session) -> None:
    open_kfid, user = ids()
    before = counted(session, stats.IGNORED)
    env.wecom.queue_entry(
        open_kfid,
        {"msgid": uuid.uuid4().hex, "open_kfid": open_kfid, "origin": 4, "msgtype": "event",
         "event": {"event_type": "enter_session", "open_kfid": open_kfid, "external_userid": user}},
    )  # fmt: skip
    env.wecom.queue_entry(
        open_kfid,
        {"msgid": uuid.uuid4().hex, "open_kfid": open_kfid, "external_userid": user, "origin": 5,
         "servicer_userid": "zhangsan", "msgtype": "text", "text": {"content": "from the WeCom app"}},
    )  # fmt: skip
    env.wecom.queue_message(open_kfid, user, "image", image={"media_id": "MEDIA_ID"})
    post_callback(env, event_xml(open_kfid))
    wait_for(lambda: env.wecom.texts(user) != [])
    time.sleep(0.5)
    assert env.wecom.texts(user) == [say("text_only", "zh")]
    assert counted(session, stats.IGNORED) == before + 2
    assert not any(text in ("[image]", "from the WeCom app") for _, text in env.rasa.calls)


def test_quick_replies_become_a_menu_and_long_texts_are_split_at_2048_bytes(env: Env) -> None:
    open_kfid, user = ids()
    say_hello(env, open_kfid, user, "buttons please")
    menu = next(m for m in env.wecom.sent if m["touser"] == user)
    assert menu["msgtype"] == "msgmenu"
    assert menu["msgmenu"]["head_content"] == "echo: buttons please"
    assert [i["click"]["content"] for i in menu["msgmenu"]["list"]] == ["Yes", "No"]
    open_kfid, user = ids()
    text = "发货要多久 " * 130  # 16 bytes each: 2,079 bytes; the echo passes 2,048
    say_hello(env, open_kfid, user, text.strip(), replies=2)
    parts = env.wecom.texts(user)
    assert len(parts) == 2 and all(len(p.encode()) <= 2048 for p in parts)
    assert " ".join(parts).split() == f"echo: {text}".split()


def test_the_access_token_is_cached_and_renewed_once_when_expired(env: Env) -> None:
    say_hello(env, *ids(), "warm up")
    calls = env.wecom.token_calls
    say_hello(env, *ids(), "cached")
    assert env.wecom.token_calls == calls
    env.wecom.expire_token()  # the next call answers 42001
    open_kfid, user = ids()
    say_hello(env, open_kfid, user, "after expiry")
    assert env.wecom.token_calls == calls + 1
    assert env.wecom.texts(user) == ["echo: after expiry"]


def test_frequency_limits_are_retried_and_session_errors_fail_with_the_reason(
    env: Env, session: Session
) -> None:
    open_kfid, user = ids()
    env.wecom.fail_next(1, 45009)
    say_hello(env, open_kfid, user, "busy?")
    assert env.wecom.texts(user) == ["echo: busy?"]
    open_kfid, user = ids()
    env.wecom.fail_next(1, 95018)
    env.wecom.queue_message(open_kfid, user, text={"content": "hello"})
    post_callback(env, event_xml(open_kfid))

    def failed() -> Delivery | None:
        conversation = conversation_of(session, open_kfid, user)
        if conversation is None:
            return None
        return session.scalars(
            select(Delivery).where(
                Delivery.conversation_id == conversation.id, Delivery.status == DeliveryStatus.failed
            )
        ).first()

    wait_for(lambda: failed() is not None)
    assert "95018" in (failed().last_error or "")  # type: ignore[union-attr]
    assert "after 1 attempts" in (failed().last_error or "")  # type: ignore[union-attr]


def _agent_takes_over(env: Env, session: Session, open_kfid: str, user: str) -> tuple[TestClient, str]:
    agent, _ = logged_in(env.client, session, Role.agent)
    assert agent.post("/api/v1/agent/status", json={"online": True}).status_code == 200
    cid = conversation_of(session, open_kfid, user).id
    service = TestClient(env.client.app)
    service.headers["Authorization"] = f"Bearer {SERVICE_TOKEN}"
    escalated = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request"})
    assert escalated.json()["outcome"] == "queued", escalated.text
    assert agent.post(f"/api/v1/agent/conversations/{cid}/accept").status_code == 200
    return agent, cid


def test_an_agent_takes_over_replies_through_send_msg_and_hands_back(env: Env, session: Session) -> None:
    open_kfid, user = ids()
    say_hello(env, open_kfid, user, "hello")
    agent, cid = _agent_takes_over(env, session, open_kfid, user)
    session_key = {"open_kfid": open_kfid, "external_userid": user}
    wait_for(lambda: any(c == {**session_key, "service_state": 1} for c in env.wecom.trans_calls))
    assert env.wecom.states[(open_kfid, user)] == (1, "")  # the API (kefu) answers, not the WeCom app
    reply = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hi, I am Ann."})
    assert reply.status_code == 201
    wait_for(lambda: "Hi, I am Ann." in env.wecom.texts(user))
    assert agent.post(f"/api/v1/agent/conversations/{cid}/handback").status_code == 200
    wait_for(lambda: say("handback", "en") in env.wecom.texts(user))
    time.sleep(1.0)
    assert [c for c in env.wecom.trans_calls if c["open_kfid"] == open_kfid] == [
        {**session_key, "service_state": 1}
    ]  # back with the bot is state 1 too: nothing to move
    assert env.wecom.states[(open_kfid, user)] == (1, "")


def test_a_session_a_wecom_servicer_holds_is_left_alone_and_the_agent_told(
    env: Env, session: Session
) -> None:
    open_kfid, user = ids()
    say_hello(env, open_kfid, user, "hello")
    env.wecom.set_state(open_kfid, user, 3, "zhangsan")
    _, cid = _agent_takes_over(env, session, open_kfid, user)

    def note() -> Message | None:
        session.expire_all()
        return session.scalars(
            select(Message).where(Message.conversation_id == cid, Message.internal.is_(True))
        ).first()

    wait_for(lambda: note() is not None)
    assert "WeCom app" in note().text  # type: ignore[union-attr]
    assert not [c for c in env.wecom.trans_calls if c["open_kfid"] == open_kfid]


def test_the_five_message_window_refuses_an_agent_with_409_and_fails_bot_messages(
    env: Env, session: Session
) -> None:
    open_kfid, user = ids()
    say_hello(env, open_kfid, user, "hello")  # 1: the bot's echo
    agent, cid = _agent_takes_over(env, session, open_kfid, user)  # 2: "assigned"
    wait_for(lambda: len(env.wecom.texts(user)) == 2)
    for text in ("one", "two", "three"):  # 3, 4, 5
        assert (
            agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": text}).status_code == 201
        )
    refused = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "four"})
    assert refused.status_code == 409
    assert "5 messages" in refused.json()["error"]["message"]
    session.expire_all()
    stored = session.scalar(
        select(func.count()).where(Message.conversation_id == cid, Message.text == "four")
    )
    assert stored == 0
    wait_for(lambda: len(env.wecom.texts(user)) == 5)
    conversation = conversation_of(session, open_kfid, user)
    conversations.add_message(
        session, conversation=conversation, role=MessageRole.system, text="one more", language="en"
    )
    session.commit()

    def last_delivery() -> Delivery:
        session.expire_all()
        return session.scalars(
            select(Delivery).where(Delivery.conversation_id == cid).order_by(Delivery.id.desc())
        ).first()  # type: ignore[return-value]

    wait_for(lambda: last_delivery().status is DeliveryStatus.failed)
    assert "5 messages within 48 hours" in (last_delivery().last_error or "")
    # The customer writes again: a new window.
    msgid = say_hello(env, open_kfid, user, "still there?", replies=5)
    wait_for(lambda: session.scalars(select(Turn).where(Turn.platform_id == msgid)).first() is not None)
    again = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Yes!"})
    assert again.status_code == 201
    wait_for(lambda: env.wecom.texts(user)[-1] == "Yes!")
