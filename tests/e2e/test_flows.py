"""Every dialogue flow through POST /api/v1/chat, in English and Chinese, against the real servers
(crm_bridge, Rasa 3.6 with the trained model, the action server) and a real SQLite database."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.feedback.models import Feedback
from crm_bridge.tickets.models import Ticket, parse_number
from kefu_core.db import make_engine

pytestmark = pytest.mark.e2e
TICKET = re.compile(r"T-\d{6,}")


class Customer:
    """One customer talking to the assistant."""

    def __init__(self, api: httpx.Client, name: str) -> None:
        self.api = api
        self.user_id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.conversation_id = ""
        self.last: dict[str, Any] = {}

    def say(self, text: str, **metadata: Any) -> str:
        """Send a message; the bot's replies joined by newlines (buttons kept in self.last)."""
        body: dict[str, Any] = {"user_id": self.user_id, "text": text}
        if metadata:
            body["metadata"] = metadata
        response = self.api.post("/api/v1/chat", json=body)
        assert response.status_code == 200, response.text
        self.last = response.json()
        self.conversation_id = self.last["conversation_id"]
        return "\n".join(m["text"] for m in self.last["messages"])

    def buttons(self) -> list[str]:
        """Payloads of the buttons in the last reply."""
        return [b["payload"] for m in self.last["messages"] for b in m.get("buttons", [])]


def _db(url: str) -> Session:
    return Session(make_engine(url))


def _contact(url: str, customer: Customer) -> Contact:
    with _db(url) as session:
        conversation = session.get(Conversation, customer.conversation_id)
        assert conversation is not None
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None
        session.expunge(contact)
        return contact


def _ticket(url: str, number: str) -> Ticket:
    with _db(url) as session:
        ticket = session.get(Ticket, parse_number(number))
        assert ticket is not None, number
        session.expunge(ticket)
        return ticket


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["hi there", "how are you?", "what can you do", "are you a bot?", "thanks!"],
         ["Maple Market", "doing well", "open a support ticket", "a bot", "welcome"]),
        (["你好", "你好吗", "你能做什么", "你是机器人吗", "谢谢"],
         ["枫叶商城", "我很好", "提交工单", "机器人", "不客气"]),
    ],
)  # fmt: skip
def test_small_talk(api: httpx.Client, lines: list[str], expected: list[str]) -> None:
    customer = Customer(api, "smalltalk")
    for line, words in zip(lines, expected, strict=True):
        assert words in customer.say(line), line


def test_create_a_ticket_in_english(api: httpx.Client, e2e_db_url: str) -> None:
    customer = Customer(api, "ticket-en")
    assert "describe the problem" in customer.say("I want to open a ticket")
    assert "email address or phone number" in customer.say("The mug in my parcel arrived broken")
    assert "valid email" in customer.say("call me maybe")  # refused, asked again
    assert "order number" in customer.say("wang.fang@example.com")
    reply = customer.say("no")
    assert reply.startswith("Done: your ticket is T-"), reply
    assert "We'll reply by" in reply
    ticket = _ticket(e2e_db_url, TICKET.findall(reply)[0])
    assert ticket.subject == "The mug in my parcel arrived broken"
    assert ticket.conversation_id == customer.conversation_id
    assert _contact(e2e_db_url, customer).email == "wang.fang@example.com"


def test_create_a_ticket_in_chinese_skips_a_known_contact(api: httpx.Client, e2e_db_url: str) -> None:
    customer = Customer(api, "ticket-zh")
    assert "请简单描述" in customer.say("我要提交工单")
    assert "邮箱或手机号" in customer.say("杯子收到的时候是碎的")
    assert "订单号" in customer.say("138 0013 8000")  # a phone number keeps the conversation in Chinese
    reply = customer.say("订单号20261105")
    assert reply.startswith("已为您创建工单 T-"), reply
    ticket = _ticket(e2e_db_url, TICKET.findall(reply)[0])
    assert "Order number: 20261105" in ticket.description
    assert _contact(e2e_db_url, customer).phone == "+8613800138000"

    # The second time the contact is on file: no contact question.
    customer.say("谢谢")
    customer.say("我要提交工单")
    assert "订单" in customer.say("又坏了一个盘子")


def test_ticket_status_by_number_and_latest(api: httpx.Client) -> None:
    customer = Customer(api, "status")
    customer.say("open a ticket")
    customer.say("My refund has not arrived")
    customer.say("refund.person@example.com")
    number = TICKET.findall(customer.say("no"))[0]

    reply = customer.say(f"what's the status of ticket {number}")
    assert f"Ticket {number} (My refund has not arrived) is received" in reply
    reply = customer.say("我的工单怎么样了")
    assert f"工单 {number}（My refund has not arrived）已受理" in reply
    assert "T-999999" in customer.say("check ticket T-999999")
    assert "couldn't find" in customer.last["messages"][0]["text"]


def test_no_open_ticket_offers_one(api: httpx.Client) -> None:
    customer = Customer(api, "status-none")
    assert "no open tickets" in customer.say("any update on my ticket?")
    assert "/create_ticket" in customer.buttons()
    assert "describe the problem" in customer.say("yes please")


@pytest.mark.parametrize(
    ("lines", "expected", "field", "value"),
    [
        (["change my email", "New.Me@Example.com", "yes"],
         ["new email address or phone number", "save new.me@example.com as your email address", "Saved"],
         "email", "new.me@example.com"),
        (["我换手机号了", "13900001111", "确认"],
         ["新邮箱或新手机号", "手机号更新为 +8613900001111", "已保存"],
         "phone", "+8613900001111"),
    ],
)  # fmt: skip
def test_update_contact_details(
    api: httpx.Client, e2e_db_url: str, lines: list[str], expected: list[str], field: str, value: str
) -> None:
    customer = Customer(api, "contact")
    for line, words in zip(lines, expected, strict=True):
        assert words in customer.say(line), line
    assert getattr(_contact(e2e_db_url, customer), field) == value


def test_update_contact_can_be_cancelled(api: httpx.Client, e2e_db_url: str) -> None:
    customer = Customer(api, "contact-no")
    customer.say("update my phone number")
    assert "/affirm" in (customer.say("13900002222") and customer.buttons())
    assert "haven't changed anything" in customer.say("no")
    assert _contact(e2e_db_url, customer).phone is None


@pytest.mark.parametrize(
    ("complaint", "yes", "apology", "offline"),
    [
        ("i want to complain, the courier was rude", "yes", "I'm very sorry", "No agent is online"),
        ("我要投诉，快递员态度太差了", "好的", "非常抱歉", "目前没有在线的人工客服"),
    ],
)
def test_complaint_then_a_human(
    api: httpx.Client, e2e_db_url: str, complaint: str, yes: str, apology: str, offline: str
) -> None:
    customer = Customer(api, "complaint")
    reply = customer.say(complaint)
    assert apology in reply
    assert _ticket(e2e_db_url, TICKET.findall(reply)[0]).priority.value == "high"
    assert "/request_human" in customer.buttons()
    reply = customer.say(yes)
    assert offline in reply and TICKET.search(reply)
    assert customer.last["status"] == "bot"


@pytest.mark.parametrize(
    ("ask", "offline"),
    [
        (
            "talk to a human",
            "No agent is online right now (or it's outside business hours). I've created ticket T-",
        ),
        ("转人工", "目前没有在线的人工客服（或不在营业时间内）。已为您创建工单 T-"),
    ],
)
def test_asking_for_a_human_when_no_agent_is_online(
    api: httpx.Client, e2e_db_url: str, ask: str, offline: str
) -> None:
    customer = Customer(api, "human")
    customer.say("hello")
    reply = customer.say(ask)
    assert offline in reply
    assert customer.last["status"] == "bot"
    ticket = _ticket(e2e_db_url, TICKET.findall(reply)[0])
    assert ticket.conversation_id == customer.conversation_id
    assert "(customer_request)" in ticket.subject


@pytest.mark.parametrize(
    ("bye", "rating", "comment", "thanks"),
    [
        ("bye", "5", "Quick and friendly", "Thank you for your feedback"),
        ("再见", "4", "没有", "感谢您的反馈"),
    ],
)
def test_goodbye_asks_for_feedback(
    api: httpx.Client, e2e_db_url: str, bye: str, rating: str, comment: str, thanks: str
) -> None:
    customer = Customer(api, "feedback")
    customer.say("hi" if bye == "bye" else "你好")
    customer.say(bye)
    assert customer.buttons()[:5] == ["1", "2", "3", "4", "5"]
    customer.say(rating)
    reply = customer.say(comment)
    assert thanks in reply
    with _db(e2e_db_url) as session:
        stored = session.scalars(
            select(Feedback).where(Feedback.conversation_id == customer.conversation_id)
        ).one()
        assert stored.rating == int(rating)
        assert stored.comment == (comment if comment != "没有" else None)


def test_feedback_can_be_skipped(api: httpx.Client) -> None:
    customer = Customer(api, "feedback-skip")
    customer.say("goodbye")
    assert "Goodbye" in customer.say("/deny")


@pytest.mark.parametrize(
    ("nonsense", "again", "first", "second"),
    [
        (
            "What is the airspeed velocity of an unladen swallow in a vacuum chamber?",
            "Which football team won the 1998 world cup?",
            "not sure",
            "human colleague",
        ),
        ("你们卖火箭发动机吗", "你们卖火箭发动机吗?", "不确定", "转接人工客服"),
    ],
)
def test_fallback_chain_never_loops(
    api: httpx.Client, e2e_db_url: str, nonsense: str, again: str, first: str, second: str
) -> None:
    customer = Customer(api, "fallback")
    assert first in customer.say(nonsense)
    assert customer.buttons(), "the clarifying question comes with suggestions"
    assert second in customer.say(again)  # a second unknown question in a row: no third clarification
    assert {"/request_human", "/create_ticket"} <= set(customer.buttons())
    reply = customer.say("/request_human")
    ticket = _ticket(e2e_db_url, TICKET.findall(reply)[0])
    assert "(fallback)" in ticket.subject


@pytest.mark.parametrize(
    ("question", "empathy", "calm_question"),
    [
        ("This is so frustrating. How long does delivery take?", "I'm really sorry",
         "How long does delivery take?"),
        ("真让人着急，运费多少钱", "非常抱歉", "运费多少钱"),
    ],
)  # fmt: skip
def test_negative_sentiment_gets_empathy_and_the_offer_of_a_human(
    api: httpx.Client, question: str, empathy: str, calm_question: str
) -> None:
    customer = Customer(api, "sentiment")
    reply = customer.say(question)  # crm_bridge labels it negative and tells Rasa
    assert reply.startswith(empathy), reply
    assert "/request_human" in customer.buttons()
    calm = Customer(api, "sentiment-calm")
    assert empathy not in calm.say(calm_question)
    assert "/request_human" not in calm.buttons()


@pytest.mark.parametrize(
    ("first", "second", "sorry"),
    [
        ("This is so frustrating. How long does delivery take?",
         "That doesn't help at all, my parcel is a week late", "I'm very sorry about this"),
        ("真让人着急，运费多少钱", "这根本没用，我的包裹晚了一个星期", "非常抱歉给您带来不好的体验"),
    ],
)  # fmt: skip
def test_two_negative_messages_in_a_row_escalate(
    api: httpx.Client, e2e_db_url: str, first: str, second: str, sorry: str
) -> None:
    customer = Customer(api, "angry")
    customer.say(first)
    reply = customer.say(second)
    assert sorry in reply  # crm_bridge apologises and hands over; nobody is online: a ticket
    ticket = _ticket(e2e_db_url, TICKET.findall(reply)[0])
    assert "(negative_sentiment)" in ticket.subject
    assert ticket.conversation_id == customer.conversation_id


def test_negative_messages_inside_a_form_do_not_escalate(api: httpx.Client) -> None:
    customer = Customer(api, "angry-form")
    assert "describe the problem" in customer.say("I want to open a ticket")
    assert "email address or phone number" in customer.say("The mug in my parcel arrived broken")
    # A second negative message in a row, but the bot is filling the ticket form: it stays with the bot.
    reply = customer.say("and the plate was smashed too, terrible")
    assert "valid email" in reply and "very sorry" not in reply
    assert customer.last["status"] == "bot"


def test_switching_language_mid_conversation(api: httpx.Client) -> None:
    customer = Customer(api, "switch")
    assert "describe the problem" in customer.say("open a ticket")
    assert "邮箱或手机号" in customer.say("我的包裹丢了")
    assert "Is this about an order?" in customer.say("no")  # English again: no contact detail given
    assert "已为您创建工单" in customer.say("没有")
