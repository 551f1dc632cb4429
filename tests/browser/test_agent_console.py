"""The agent console pages in headless Chromium: landing after login, the live chat with a REST-channel
customer (packet, replies both ways, internal notes, canned replies, a ticket from the chat, resolve),
canned replies and agents' load for admins, and someone else's conversation refused.
Screenshots go to test-artifacts/pages/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, AGENT, Server, Tab

XSS = "<img src=x onerror=alert(1)>"


def _client(server: Server, username: str, password: str) -> httpx.Client:
    token = httpx.post(
        f"{server.base_url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30
    ).json()["access_token"]
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def admin_api(server: Server) -> Iterator[httpx.Client]:
    """The admin over the API."""
    with _client(server, *ADMIN) as client:
        yield client


@pytest.fixture
def agent_api(server: Server) -> Iterator[httpx.Client]:
    """The page tests' agent over the API, online and speaking both languages."""
    with _client(server, *ADMIN) as admin:
        me = next(u for u in admin.get("/api/v1/users").json()["items"] if u["username"] == AGENT[0])
        admin.patch(f"/api/v1/users/{me['id']}", json={"languages": ["en", "zh"]}).raise_for_status()
    with _client(server, *AGENT) as client:
        yield client


def _queued_conversation(server: Server, service_api: httpx.Client, text: str) -> tuple[str, str]:
    """A REST-channel customer who said `text` and was escalated: (conversation id, user id)."""
    user_id = f"console-{uuid.uuid4().hex[:8]}"
    reply = httpx.post(f"{server.base_url}/api/v1/chat", json={"user_id": user_id, "text": text}, timeout=30)
    reply.raise_for_status()
    conversation_id = reply.json()["conversation_id"]
    escalated = service_api.post(
        f"/api/v1/conversations/{conversation_id}/escalate", json={"reason": "customer_request", "note": None}
    )
    escalated.raise_for_status()
    assert escalated.json()["outcome"] == "queued", escalated.json()
    return conversation_id, user_id


def _customer_sees(server: Server, conversation_id: str, user_id: str) -> list[dict]:
    answer = httpx.get(
        f"{server.base_url}/api/v1/chat/{conversation_id}/messages", params={"user_id": user_id}, timeout=30
    )
    answer.raise_for_status()
    body = answer.json()
    return list(body["messages"] if isinstance(body, dict) else body)


def test_agent_lands_on_the_console_without_admin_links(tab: Tab) -> None:
    tab.login(*AGENT)
    expect(tab.page).to_have_url(re.compile(r"/admin/agent$"))
    # Agents see their own report figures; the admin pages stay out of their navigation.
    expect(tab.page.locator(".topbar nav a")).to_have_text(["Console", "Reports"])
    expect(tab.page.locator("#ws-state")).to_have_text("live")
    tab.page.goto("/admin/agent/canned")
    expect(tab.page.locator("#forbidden")).to_be_visible()
    tab.page.goto("/admin/agent/load")
    expect(tab.page.locator("#forbidden")).to_be_visible()


def test_nobody_logged_in_goes_to_login(tab: Tab) -> None:
    tab.page.goto("/admin/agent")
    expect(tab.page).to_have_url(re.compile(r"/admin/login\?next=/admin/agent"))


def test_live_chat_with_a_rest_customer(
    tab: Tab, server: Server, service_api: httpx.Client, agent_api: httpx.Client, admin_api: httpx.Client
) -> None:
    admin_api.post(
        "/api/v1/agent/canned-replies",
        json={
            "title": "Refund timing",
            "text": "Refunds reach your card in 5-7 business days.",
            "language": "en",
        },
    ).raise_for_status()
    page = tab.page
    tab.login(*AGENT)
    page.check("#online-toggle")
    expect(page.locator("#online-label")).to_have_text("Online")
    # A neutral question: a very negative message would escalate on its own (reason negative_sentiment).
    # The markup's words ("error", "alert") pull the score down; the greeting and "please" keep it neutral.
    question = f"Hi, where is my parcel please? {XSS}"
    conversation_id, user_id = _queued_conversation(server, service_api, question)

    item = page.locator(f"#queue-list li[data-conversation-id='{conversation_id}']")
    expect(item).to_be_visible()  # pushed over the agent WebSocket
    expect(item.locator(".wait")).to_contain_text("waiting")
    item.locator("button.accept").click()
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#transcript .msg-customer .text").first).to_have_text(question)
    expect(page.locator("#summary")).to_contain_text("customer_request")
    expect(page.locator("#sla-timer")).to_contain_text("First response due")
    expect(page.locator(f"#my-chats li[data-conversation-id='{conversation_id}']")).to_be_visible()

    page.fill("#reply-text", "Hello, I am looking into it <b>now</b>.")
    page.press("#reply-text", "Enter")
    expect(page.locator("#transcript .msg-agent .text")).to_have_text(
        ["Hello, I am looking into it <b>now</b>."]
    )
    expect(page.locator("#sla-timer")).to_contain_text("within SLA")

    page.check("#reply-internal")
    page.fill("#reply-text", "VIP? check the courier")
    page.click("#reply-send")
    expect(page.locator("#transcript .msg.internal .text")).to_have_text("VIP? check the courier")

    page.select_option("#canned-select", label="Refund timing (en)")
    expect(page.locator("#reply-text")).to_have_value("Refunds reach your card in 5-7 business days.")
    page.click("#reply-send")
    expect(page.locator("#transcript .msg-agent:not(.internal)")).to_have_count(2)

    seen = [m["text"] for m in _customer_sees(server, conversation_id, user_id)]
    assert "Hello, I am looking into it <b>now</b>." in seen
    assert "VIP? check the courier" not in seen  # internal notes never reach the customer

    # The customer answers over the REST channel: it shows up live, and the bot stays silent.
    httpx.post(
        f"{server.base_url}/api/v1/chat", json={"user_id": user_id, "text": "Thanks, order 10234"}, timeout=30
    ).raise_for_status()
    expect(page.locator("#transcript .msg-customer .text").last).to_have_text("Thanks, order 10234")

    page.fill("#ticket-subject", "Late parcel, order 10234")
    page.select_option("#ticket-priority", "high")
    page.click("#ticket-create")
    expect(page.locator("#ticket-result")).to_contain_text("Created T-")
    number = page.locator("#open-tickets li.ticket strong").first.text_content()
    assert number
    ticket = agent_api.get(f"/api/v1/tickets/{number}").json()
    assert ticket["conversation_id"] == conversation_id and ticket["priority"] == "high"
    assert "Thanks, order 10234" in ticket["description"]
    tab.shot("agent-console-chat")

    page.click("#resolve-btn")
    expect(page.locator("#chat-placeholder")).to_contain_text("Resolved")
    assert agent_api.get(f"/api/v1/conversations/{conversation_id}").json()["status"] == "resolved"
    assert tab.dialogs == []


def test_hand_back_to_the_bot(
    tab: Tab, server: Server, service_api: httpx.Client, agent_api: httpx.Client
) -> None:
    agent_api.post("/api/v1/agent/status", json={"online": True}).raise_for_status()
    conversation_id, _ = _queued_conversation(server, service_api, "I need a person")
    tab.login(*AGENT)
    tab.page.locator(f"#queue-list li[data-conversation-id='{conversation_id}'] button.accept").click()
    expect(tab.page.locator("#chat")).to_be_visible()
    tab.page.click("#handback-btn")
    expect(tab.page.locator("#chat-placeholder")).to_contain_text("Handed back")
    assert agent_api.get(f"/api/v1/conversations/{conversation_id}").json()["status"] == "bot"


def test_someone_elses_conversation_is_refused(
    tab: Tab, server: Server, service_api: httpx.Client, agent_api: httpx.Client, admin_api: httpx.Client
) -> None:
    agent_api.post("/api/v1/agent/status", json={"online": True}).raise_for_status()
    conversation_id, _ = _queued_conversation(server, service_api, "Where is my refund?")
    agent_api.post(f"/api/v1/agent/conversations/{conversation_id}/accept").raise_for_status()
    other = f"other-{uuid.uuid4().hex[:6]}"
    admin_api.post(
        "/api/v1/users", json={"username": other, "password": "other password 1", "role": "agent"}
    ).raise_for_status()
    tab.login(other, "other password 1")
    expect(tab.page).to_have_url(re.compile(r"/admin/agent$"))
    statuses = tab.page.evaluate(
        """async (id) => {
             const base = "/api/v1/agent/conversations/" + id;
             const json = {"Content-Type": "application/json"};
             const post = (path, body) =>
               fetch(base + path, {method: "POST", headers: json, body: JSON.stringify(body)});
             return [(await fetch(base + "/packet")).status, (await post("/messages", {text: "hi"})).status,
                     (await post("/resolve")).status, (await post("/handback")).status];
           }""",
        conversation_id,
    )
    assert all(s in (403, 409) for s in statuses), statuses
    # An admin may act on it.
    assert admin_api.get(f"/api/v1/agent/conversations/{conversation_id}/packet").status_code == 200


def test_admin_manages_canned_replies_in_both_languages(admin: Tab) -> None:
    page = admin.page
    page.goto("/admin/agent/canned")
    page.fill("#canned-title", "Greeting")
    page.fill("#canned-text", f"Hi! How can I help? {XSS}")
    page.select_option("#canned-language", "en")
    page.click("#canned-save")
    row = page.locator("#canned-table tbody tr", has_text="Greeting")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text(f"Hi! How can I help? {XSS}")
    page.fill("#canned-title", "问候")
    page.fill("#canned-text", "您好！请问有什么可以帮您？")
    page.select_option("#canned-language", "zh")
    page.click("#canned-save")
    expect(page.locator("#canned-table tbody tr", has_text="问候")).to_have_count(1)

    page.select_option("#canned-filter", "zh")
    expect(page.locator("#canned-table tbody tr", has_text="Greeting")).to_have_count(0)
    expect(page.locator("#canned-table tbody tr", has_text="问候")).to_have_count(1)
    page.select_option("#canned-filter", "")

    row.locator("button.edit").click()
    page.fill("#canned-text", "Hello again!")
    page.click("#canned-save")
    expect(row.locator("td").nth(2)).to_have_text("Hello again!")
    admin.shot("agent-canned-replies")

    page.evaluate("window.confirm = () => true")  # the tab dismisses real dialogs: say yes to this one
    zh_row = page.locator("#canned-table tbody tr", has_text="问候")
    zh_row.locator("button.delete").click()
    expect(zh_row).to_have_count(0)
    assert admin.dialogs == []


def test_admin_sees_every_agents_load(admin: Tab, agent_api: httpx.Client) -> None:
    agent_api.post("/api/v1/agent/status", json={"online": True}).raise_for_status()
    admin.page.goto("/admin/agent/load")
    row = admin.page.locator(f"#load-table tbody tr[data-username='{AGENT[0]}']")
    expect(row).to_contain_text("online")
    expect(row.locator(".active-chats")).to_have_text(re.compile(r"^\d+$"))
    agent_api.post("/api/v1/agent/status", json={"online": False}).raise_for_status()
    expect(row).to_contain_text("offline", timeout=12_000)  # refreshed every 5 s
    admin.shot("agent-load")
