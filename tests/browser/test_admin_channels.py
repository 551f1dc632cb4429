"""The Channels page, the Dead jobs page and the delivery state in the agent console, in headless Chromium,
against the page tests' crm_bridge, whose Telegram channel sends to a local fake Bot API
(tests/fakes/telegram_server.py; Rasa is down there). Screenshots go to test-artifacts/pages/."""

from __future__ import annotations

import itertools
import re
import time
import uuid

import httpx
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from crm_bridge.jobs import service as jobs
from kefu_core.db import make_engine
from tests.browser.conftest import ADMIN, AGENT, TELEGRAM_SECRET, TELEGRAM_TOKEN, Server, Tab
from tests.fakes.telegram_server import FakeTelegram

_ids = itertools.count(int(time.time()))


def _api(server: Server, username: str, password: str) -> httpx.Client:
    token = httpx.post(
        f"{server.base_url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30
    ).json()["access_token"]
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _update(chat_id: int, text: str) -> dict[str, object]:
    """A private-chat Update as Telegram sends it."""
    sender = {"id": chat_id, "is_bot": False, "first_name": "Li", "language_code": "en"}
    message = {
        "message_id": next(_ids) % 100000,
        "from": sender,
        "chat": {"id": chat_id, "first_name": "Li", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    return {"update_id": next(_ids), "message": message}


def test_channels_page_shows_the_webhook_url_and_a_counted_verification_failure(
    admin: Tab, server: Server
) -> None:
    bad = httpx.post(
        f"{server.base_url}/webhooks/telegram",
        json=_update(1, "hi"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "not-" + TELEGRAM_SECRET},
        timeout=30,
    )
    assert bad.status_code == 401
    page = admin.page
    page.goto("/admin/channels")
    row = page.locator("#channels-table tr[data-channel='telegram']")
    expect(row.locator(".verification-failures")).to_have_text("1")
    expect(row).to_contain_text("configured")
    expect(row.locator("input.webhook-url")).to_have_value(f"{server.base_url}/webhooks/telegram")
    expect(row.locator(".last-error")).to_contain_text("verification failed")
    slack = page.locator("#channels-table tr[data-channel='slack']")
    expect(slack.locator(".how-to")).to_contain_text("KEFU_SLACK_BOT_TOKEN")
    expect(slack).to_contain_text("not configured")
    html = page.content()
    assert TELEGRAM_TOKEN not in html and TELEGRAM_SECRET not in html
    admin.shot("channels")


def test_a_dead_job_is_replayed_from_the_page(admin: Tab, server: Server) -> None:
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        # A delivery job for a conversation with nothing to send: replayed, it runs and finishes.
        dead = jobs.record_dead(
            session,
            task="channels.deliver",
            job_id=uuid.uuid4().hex,
            args=[uuid.uuid4().hex],
            kwargs={},
            error="ConnectError: <b>platform down</b>",
        )
        session.commit()
        job_id = dead.id
    engine.dispose()
    page = admin.page
    page.goto("/admin/jobs")
    row = page.locator(f"#jobs-table tr[data-job-id='{job_id}']")
    expect(row).to_contain_text("channels.deliver")
    expect(row.locator("td.error")).to_have_text("ConnectError: <b>platform down</b>")  # as text, not markup
    expect(row.locator("td").nth(4)).to_have_text("4")  # the first run and 3 retries
    row.locator("button.replay").click()
    expect(row).to_contain_text(f"Replay job {job_id}?")
    admin.shot("dead-jobs-confirm")
    row.locator("button.confirm-replay").click()
    expect(page.locator("#jobs-result")).to_have_text(f"Job {job_id} is back on the queue.")
    expect(row).to_have_count(0)  # the list was reloaded without it
    with _api(server, *ADMIN) as admin_api:
        replayed = admin_api.get("/api/v1/jobs/dead", params={"status": "replayed"}).json()["items"]
    assert job_id in {item["id"] for item in replayed}
    assert admin.dialogs == [] and admin.errors == []


def test_the_console_shows_each_message_delivery_and_a_failure_reason(
    tab: Tab, server: Server, service_api: httpx.Client, telegram: FakeTelegram
) -> None:
    accepted = httpx.post(
        f"{server.base_url}/webhooks/telegram",
        json=_update(next(_ids), "Where is my parcel?"),
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        timeout=30,
    )
    assert accepted.status_code == 200 and accepted.json()["handled"] == "text"
    with _api(server, *AGENT) as agent_api:
        agent_api.post("/api/v1/agent/status", json={"online": True}).raise_for_status()
        newest = agent_api.get("/api/v1/conversations", params={"channel": "telegram", "limit": 1}).json()
        conversation_id = newest["items"][0]["id"]
        escalated = service_api.post(
            f"/api/v1/conversations/{conversation_id}/escalate",
            json={"reason": "customer_request", "note": None},
        )
        assert escalated.status_code == 200 and escalated.json()["outcome"] == "queued", escalated.text
        agent_api.post(f"/api/v1/agent/conversations/{conversation_id}/accept").raise_for_status()

    tab.login(*AGENT)
    page = tab.page
    chat = page.locator(f"#my-chats li[data-conversation-id='{conversation_id}']")
    expect(chat.locator(".channel-badge")).to_have_text("telegram")
    chat.locator("button.open-chat").click()
    expect(page.locator("#transcript .msg-customer .text")).to_have_text(["Where is my parcel?"])

    telegram.fail_next(1, 403)  # the customer blocked the bot: this reply fails for good
    page.fill("#reply-text", "Let me check that for you.")
    page.press("#reply-text", "Enter")
    page.fill("#reply-text", "Your parcel left the warehouse today.")
    page.press("#reply-text", "Enter")
    replies = page.locator("#transcript .msg-agent .delivery")
    expect(replies.first).to_have_text(re.compile(r"^failed: .*blocked by the user"), timeout=15_000)
    expect(replies.first).to_have_class(re.compile(r"delivery-failed"))
    expect(replies.nth(1)).to_have_text("sent ✓", timeout=15_000)  # the next message still goes out
    expect(page.locator("#transcript .msg-customer .delivery")).to_have_count(0)
    tab.shot("console-delivery-failed")
    page.reload()  # a fresh load of the conversation shows the same state
    chat.locator("button.open-chat").click()
    expect(page.locator("#transcript .msg-agent .delivery").first).to_contain_text("blocked by the user")
    assert tab.errors == []
