"""The whole handoff story in headless Chromium against the REAL stack (Rasa 3.6, the action server and
crm_bridge on free ports, fresh SQLite database): a customer on the demo shop page asks a question and the
bot answers; asks for a human in Chinese and sees the queue position; an agent logged in in a second browser
context accepts, sees the handoff packet, and they exchange messages both ways; the agent creates a ticket
from the chat and resolves; the customer rates 5; the conversation, ticket and rating are in the database.
Screenshots of both screens are kept in test-artifacts/pages/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.feedback.models import Feedback
from crm_bridge.tickets.models import Ticket
from crm_bridge.users import service as users
from crm_bridge.users.models import Role, User
from kefu.bootstrap import prepare_database
from kefu.model import ensure_model
from kefu.stack import Ports, Stack
from kefu_core.db import make_engine
from tests.browser.conftest import ARTIFACTS
from tests.helpers import sqlite_url

AGENT = ("li.na", "story agent password")
SERVICE_TOKEN = "story-service-token-0123456789abcdef"


@pytest.fixture(scope="module")
def story_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """Rasa, actions and crm_bridge on free ports with one Chinese/English-speaking agent."""
    var = tmp_path_factory.mktemp("story-var")
    url = sqlite_url(var)
    prepare_database(url)
    engine = make_engine(url)
    with Session(engine) as session:
        users.create(
            session,
            username=AGENT[0],
            password=AGENT[1],
            role=Role.agent,
            languages=["zh", "en"],
            display_name="李娜",
        )
        session.commit()
    engine.dispose()
    running = Stack(
        model=ensure_model(quiet=True),
        ports=Ports.free(),
        var=var,
        env={"DATABASE_URL": url, "KEFU_VAR_DIR": str(var), "KEFU_SERVICE_TOKEN": SERVICE_TOKEN},
    )
    running.start(timeout=300)
    try:
        yield running, url
    finally:
        running.stop()


def _context(browser: Browser, base_url: str, **kwargs: object) -> BrowserContext:
    context = browser.new_context(base_url=base_url, **kwargs)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)  # Rasa and the action server answer on a busy 2-core machine
    return context


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / f"{name}.png"), full_page=True)


def _say(page: Page, text: str) -> None:
    page.fill("#kefu-widget >> .input", text)
    page.press("#kefu-widget >> .input", "Enter")


def test_customer_to_agent_and_back(story_stack: tuple[Stack, str], browser: Browser) -> None:
    stack, db_url = story_stack
    customer_ctx = _context(browser, stack.api_url, locale="zh-CN", viewport={"width": 1100, "height": 800})
    agent_ctx = _context(browser, stack.api_url, viewport={"width": 1400, "height": 900})
    try:
        # The agent logs in, lands on the console and goes online.
        agent = agent_ctx.new_page()
        agent.goto("/admin/login")
        agent.fill("#username", AGENT[0])
        agent.fill("#password", AGENT[1])
        agent.click("main button[type=submit]")
        expect(agent).to_have_url(re.compile(r"/admin/agent$"))
        agent.check("#online-toggle")
        expect(agent.locator("#online-label")).to_have_text("Online")
        expect(agent.locator("#ws-state")).to_have_text("live")

        # The customer asks a question on the demo shop page; the bot answers from the knowledge base.
        customer = customer_ctx.new_page()
        customer.goto("/demo")
        expect(customer.locator("#kefu-widget >> .launcher")).to_have_text("在线客服")
        customer.click("#kefu-widget >> .launcher")
        customer.wait_for_function("window.kefuWidget && window.kefuWidget.connected")
        _say(customer, "退货需要多久？")
        # The stack's first answer (Rasa's first prediction, the action server's first call) can take
        # longer than expect()'s own 5 s default, which the context's timeout does not change.
        expect(customer.locator("#kefu-widget >> .msg-bot .text").first).to_contain_text(
            "工作日", timeout=30_000
        )

        # ... asks for a human in Chinese, and hears its place in the queue.
        _say(customer, "请帮我转人工")
        banner = customer.locator("#kefu-widget >> .banner")
        expect(banner).to_contain_text(re.compile(r"您前面还有 \d+ 位"), timeout=30_000)  # a Rasa turn
        conversation_id = str(customer.evaluate("window.kefuWidget.conversationId"))

        # The agent sees it in the queue (pushed over the socket), accepts, and has the packet at once.
        item = agent.locator(f"#queue-list li[data-conversation-id='{conversation_id}']")
        expect(item).to_be_visible()
        expect(item).to_contain_text("zh")
        item.locator("button.accept").click()
        transcript = agent.locator("#transcript")
        expect(transcript.locator(".msg-customer .text").first).to_have_text("退货需要多久？")
        expect(transcript.locator(".msg-bot")).not_to_have_count(0)
        expect(agent.locator("#summary")).to_contain_text("customer_request")
        expect(agent.locator("#customer-panel")).to_be_visible()
        expect(banner).to_contain_text("李娜")  # the customer hears who joined

        # Messages both ways.
        agent.fill("#reply-text", "您好，我是客服李娜，请问您的订单号是多少？")
        agent.press("#reply-text", "Enter")
        expect(customer.locator("#kefu-widget >> .msg-agent .text")).to_have_text(
            ["您好，我是客服李娜，请问您的订单号是多少？"]
        )
        _say(customer, "订单号是 10234，包裹还没寄回去")
        expect(transcript.locator(".msg-customer .text").last).to_have_text("订单号是 10234，包裹还没寄回去")
        expect(agent.locator("#sla-timer")).to_contain_text("First response in")

        # A ticket from the chat, then resolve.
        agent.fill("#ticket-subject", "退货咨询：订单 10234")
        agent.click("#ticket-create")
        expect(agent.locator("#ticket-result")).to_contain_text("Created T-")
        _shot(agent, "story-agent-console")
        _shot(customer, "story-customer-chat")
        agent.click("#resolve-btn")
        expect(agent.locator("#chat-placeholder")).to_contain_text("Resolved")

        # The customer rates the conversation 5.
        expect(customer.locator("#kefu-widget >> .csat")).to_be_visible()
        customer.click("#kefu-widget >> .star[data-rating='5']")
        customer.click("#kefu-widget >> .csat-send")
        expect(customer.locator("#kefu-widget >> .csat-thanks")).to_have_text("感谢您的评价！")
        _shot(customer, "story-customer-rated")
    finally:
        customer_ctx.close()
        agent_ctx.close()

    # Everything is in the database.
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            assert conversation.status is ConversationStatus.resolved
            agent_user = session.scalars(select(User).where(User.username == AGENT[0])).one()
            assert conversation.assignee_id == agent_user.id
            said = [
                (m.role, m.text)
                for m in session.scalars(
                    select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
                )
            ]
            assert (MessageRole.customer, "请帮我转人工") in said
            assert (MessageRole.agent, "您好，我是客服李娜，请问您的订单号是多少？") in said
            assert (MessageRole.customer, "订单号是 10234，包裹还没寄回去") in said
            assert any(role is MessageRole.bot for role, _ in said)
            assert len([t for r, t in said if t == "请帮我转人工"]) == 1
            tickets = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).all()
            assert "退货咨询：订单 10234" in [t.subject for t in tickets]
            rating = session.scalars(
                select(Feedback).where(Feedback.conversation_id == conversation_id)
            ).one()
            assert rating.rating == 5
    finally:
        engine.dispose()
