"""The website widget on the demo shop page in headless Chromium: sending, HTML shown as text, history
after a reload, the phone viewport, the Chinese UI, queue position, an agent's replies, the CSAT prompt,
and a dropped connection that loses and doubles nothing (through a TCP proxy the test can cut).
Rasa is not running here (the customer hears that the assistant is unavailable): these tests are about the
widget; the bot's answers are in test_handoff_story.py."""

from __future__ import annotations

import contextlib
import http.server
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from kefu_core.language import detect_language
from tests.browser.conftest import ADMIN, AGENT, ARTIFACTS, Server, Tab

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
PENDING = ".msg.pending"


@dataclass
class Proxy:
    """A TCP proxy to crm_bridge: `cut()` kills every connection (the server 'drops the socket'), and while
    `swallow` is set nothing travels from the server to the browser (an ack that never arrives)."""

    target: int
    port: int = 0
    swallow: bool = False
    _conns: list[socket.socket] = field(default_factory=list)
    _listener: socket.socket | None = None

    def start(self) -> None:
        """Listen on a free port."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while data := src.recv(65536):
                if not (from_server and self.swallow):
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every open connection at once."""
        conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def stop(self) -> None:
        """Stop listening and drop everything."""
        if self._listener is not None:
            self._listener.close()
        self.cut()


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    """A cuttable proxy in front of crm_bridge."""
    running = Proxy(target=int(server.base_url.rsplit(":", 1)[1]))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def admin_api(server: Server) -> Iterator[httpx.Client]:
    """The admin over the API (reads the database's view of a conversation)."""
    token = httpx.post(
        f"{server.base_url}/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30
    ).json()["access_token"]
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as c:
        yield c


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def open_widget(page: Page, path: str = "/demo") -> None:
    """Load the demo page, open the widget and wait until its socket is up."""
    page.goto(path)
    page.click("#kefu-widget >> .launcher")
    expect(page.locator("#kefu-widget >> .panel")).to_be_visible()
    page.wait_for_function("window.kefuWidget && window.kefuWidget.connected")


def say(page: Page, text: str, *, acked: bool = True) -> None:
    """Type and send a message as the customer; unless told otherwise, wait for the server's ack."""
    page.fill("#kefu-widget >> .input", text)
    page.press("#kefu-widget >> .input", "Enter")
    if acked:  # the bubble shows at once and loses .pending when the ack (message stored) arrives
        expect(page.locator("#kefu-widget >> .msg-customer.pending")).to_have_count(0, timeout=15_000)


def customer_texts(page: Page) -> list[str]:
    """Texts of the customer's bubbles in the widget."""
    return [t or "" for t in page.locator("#kefu-widget >> .msg-customer .text").all_text_contents()]


def stored_customer_texts(api: httpx.Client, conversation_id: str) -> list[str]:
    """The customer's messages as the database holds them."""
    detail = api.get(f"/api/v1/conversations/{conversation_id}").json()
    return [m["text"] for m in detail["messages"] if m["role"] == "customer"]


def conversation_of(page: Page) -> str:
    """The widget's conversation id (once it has one)."""
    page.wait_for_function("window.kefuWidget.conversationId")
    return str(page.evaluate("window.kefuWidget.conversationId"))


def test_send_html_as_text_and_history_after_reload(tab: Tab, admin_api: httpx.Client) -> None:
    page = tab.page
    open_widget(page)
    expect(page.locator("#kefu-widget >> .launcher")).to_be_hidden()
    say(page, f"Hello {XSS}")
    expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)  # acknowledged
    expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text([f"Hello {XSS}"])
    # The bot (the fake Rasa) answers from the queue; its reply is escaped like everything else.
    expect(page.locator("#kefu-widget >> .msg-bot .text")).to_have_text([f"echo: Hello {XSS}"])
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#kefu-widget >> .log img, #kefu-widget >> .log script").count() == 0
    conversation_id = conversation_of(page)
    token_before = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")

    page.reload()
    expect(page.locator("#kefu-widget >> .panel")).to_be_visible()  # stays open across the reload
    expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text([f"Hello {XSS}"])
    expect(page.locator("#kefu-widget >> .msg-bot")).to_have_count(1)
    page.wait_for_function("window.kefuWidget.connected")
    token_after = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")
    assert token_after != token_before  # rotated on every load
    assert conversation_of(page) == conversation_id
    say(page, "second")
    expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text([f"Hello {XSS}", "second"])
    assert stored_customer_texts(admin_api, conversation_id) == [f"Hello {XSS}", "second"]
    assert tab.dialogs == []


def test_a_second_customer_sees_nothing_of_the_first(tab: Tab, browser: Browser, server: Server) -> None:
    open_widget(tab.page)
    say(tab.page, "private: my address is 1 Elm St")
    expect(tab.page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)
    first = conversation_of(tab.page)
    other = browser.new_context(base_url=server.base_url)
    try:
        page = other.new_page()
        open_widget(page)
        expect(page.locator("#kefu-widget >> .msg")).to_have_count(0)
        say(page, "hello")
        expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text(["hello"])
        assert conversation_of(page) != first
        # The first customer's history is not readable with the second one's token.
        token = page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':token'))[1]")
        history = httpx.get(
            f"{server.base_url}/api/v1/widget/history", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert all("1 Elm St" not in m["text"] for m in history["messages"])
    finally:
        other.close()


def test_phone_viewport(browser: Browser, server: Server) -> None:
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.goto("/demo")
        launcher = page.locator("#kefu-widget >> .launcher")
        box = launcher.bounding_box()
        assert box and box["x"] + box["width"] <= 375 and box["y"] + box["height"] <= 667
        launcher.tap()
        panel = page.locator("#kefu-widget >> .panel")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box and box["x"] == 0 and box["width"] == 375 and box["height"] == 667  # full screen
        page.wait_for_function("window.kefuWidget.connected")
        say(page, "Do you ship to Canada?")
        expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text(["Do you ship to Canada?"])
        send = page.locator("#kefu-widget >> .send").bounding_box()
        assert send and send["y"] + send["height"] <= 667 and send["height"] >= 40  # reachable, thumb-sized
        page.screenshot(path=str(_artifact("widget-phone")))
    finally:
        context.close()


def test_chinese_ui_from_the_browser_language(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto("/demo")
        expect(page.locator("#kefu-widget >> .launcher")).to_have_text("在线客服")
        page.click("#kefu-widget >> .launcher")
        expect(page.locator("#kefu-widget >> .input")).to_have_attribute("placeholder", "请输入您的问题…")
        expect(page.locator("#kefu-widget >> .send")).to_have_text("发送")
        assert page.evaluate("window.kefuWidget.language") == "zh"
        page.screenshot(path=str(_artifact("widget-zh")))
    finally:
        context.close()


@pytest.fixture
def foreign_shop(server: Server) -> Iterator[str]:
    """Another site (its own origin on this machine) whose page embeds the widget with the one tag."""
    tag = f'<script src="{server.base_url}/widget.js" data-lang="en" data-title="Other Shop"></script>'
    body = f"<!doctype html><html><head><title>Other shop</title></head><body>{tag}</body></html>".encode()

    class ShopPage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ShopPage)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_data_lang_overrides_and_a_foreign_page_embeds_it(browser: Browser, foreign_shop: str) -> None:
    """Another site embeds the widget with the one tag; data-lang wins over the browser's language."""
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(foreign_shop)
        expect(page.locator("#kefu-widget >> .launcher")).to_have_text("Chat with us")
        page.click("#kefu-widget >> .launcher")
        expect(page.locator("#kefu-widget >> header h2")).to_have_text("Other Shop")
        page.wait_for_function("window.kefuWidget.connected", timeout=10_000)  # CORS session + socket
        say(page, "hello from another site")
        expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)
        expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text(["hello from another site"])
    finally:
        context.close()


def test_reconnect_resends_without_loss_or_duplicates(
    browser: Browser, proxy: Proxy, admin_api: httpx.Client
) -> None:
    context = browser.new_context(base_url=f"http://127.0.0.1:{proxy.port}")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        open_widget(page)
        say(page, "one")
        expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)
        conversation_id = conversation_of(page)

        # The server stores "two" but its ack never reaches the browser; then the connection dies.
        proxy.swallow = True
        say(page, "two", acked=False)  # its ack is swallowed
        page.wait_for_timeout(1000)
        assert "two" in stored_customer_texts(admin_api, conversation_id)
        expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(1)
        proxy.swallow = False
        proxy.cut()
        expect(page.locator("#kefu-widget >> .conn")).to_be_visible()  # "reconnecting…"
        say(page, "three", acked=False)  # written while disconnected: waits in the outbox

        page.wait_for_function("window.kefuWidget.connected")
        expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)
        expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text(["one", "two", "three"])
        assert stored_customer_texts(admin_api, conversation_id) == ["one", "two", "three"]
        ids = page.locator("#kefu-widget >> .msg").evaluate_all("els => els.map(e => e.dataset.id)")
        assert len(ids) == len(set(ids))
        # A reload now shows the same conversation once more, nothing doubled.
        page.reload()
        expect(page.locator("#kefu-widget >> .msg-customer .text")).to_have_text(["one", "two", "three"])
    finally:
        context.close()


def test_queue_position_agent_reply_and_csat(tab: Tab, server: Server, admin_api: httpx.Client) -> None:
    page = tab.page
    open_widget(page)
    say(page, "I want to talk to a person")
    expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)
    conversation_id = conversation_of(page)
    token = httpx.post(
        f"{server.base_url}/api/v1/auth/token", data={"username": AGENT[0], "password": AGENT[1]}
    ).json()["access_token"]
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as agent:
        agent.post("/api/v1/agent/status", json={"online": True}).raise_for_status()
        escalated = httpx.post(
            f"{server.base_url}/api/v1/conversations/{conversation_id}/escalate",
            headers={"Authorization": f"Bearer {server.service_token}"},
            json={"reason": "customer_request", "note": None},
        ).json()
        assert escalated["outcome"] == "queued", escalated
        banner = page.locator("#kefu-widget >> .banner")
        expect(banner).to_contain_text(re.compile(r"number \d+ in the queue"))
        agent.post(f"/api/v1/agent/conversations/{conversation_id}/accept").raise_for_status()
        expect(banner).to_contain_text("You are chatting with")
        agent.post(
            f"/api/v1/agent/conversations/{conversation_id}/messages",
            json={"text": f"Hi, I'm here {XSS}", "internal": False},
        ).raise_for_status()
        agent.post(
            f"/api/v1/agent/conversations/{conversation_id}/messages",
            json={"text": "internal: do not show", "internal": True},
        ).raise_for_status()
        expect(page.locator("#kefu-widget >> .msg-agent .text")).to_have_text([f"Hi, I'm here {XSS}"])
        say(page, "thanks!")
        expect(page.locator(f"#kefu-widget >> {PENDING}")).to_have_count(0)
        agent.post(f"/api/v1/agent/conversations/{conversation_id}/resolve").raise_for_status()

    expect(page.locator("#kefu-widget >> .csat")).to_be_visible()
    page.click("#kefu-widget >> .star[data-rating='4']")
    page.fill("#kefu-widget >> .comment", "quick and kind")
    page.click("#kefu-widget >> .csat-send")
    expect(page.locator("#kefu-widget >> .csat-thanks")).to_be_visible()
    assert "do not show" not in " ".join(page.locator("#kefu-widget >> .log").all_text_contents())
    assert page.evaluate("window.__pwned") is None
    tab.shot("widget-csat")
    ratings = [
        f
        for f in admin_api.get("/api/v1/feedback").json()["items"]
        if f["conversation_id"] == conversation_id
    ]
    assert [(f["rating"], f["comment"]) for f in ratings] == [(4, "quick and kind")]


def test_each_bubble_is_marked_with_its_texts_language(browser: Browser, server: Server) -> None:
    """`lang` on a bubble follows the one language rule (the widget's own language when the text has no
    letters); the name above it stays in the widget's language; nothing of lang.js leaks onto the page."""
    context = browser.new_context(base_url=server.base_url, locale="zh-CN")
    try:
        page = context.new_page()
        open_widget(page)
        assert page.evaluate("[typeof detectLanguage, typeof carriesLanguage]") == ["undefined", "undefined"]
        for text in ("Where is my parcel?", "退货需要多久？", "138 0013 8000", "我的order到哪了"):
            say(page, text)
        customer = page.locator("#kefu-widget >> .msg-customer")
        expect(customer).to_have_count(4)
        assert customer.evaluate_all("els => els.map(e => e.lang)") == ["en", "zh-CN", "zh-CN", "zh-CN"]
        assert set(page.locator("#kefu-widget >> .msg .who").evaluate_all("els => els.map(e => e.lang)")) == {
            "zh-CN"
        }
        expect(page.locator("#kefu-widget >> .msg-bot")).to_have_count(4)  # the fake bot's echoes
        for bubble in page.locator("#kefu-widget >> .msg").all():
            text = bubble.locator(".text").text_content() or ""
            expected = "zh-CN" if detect_language(text, default="zh") == "zh" else "en"
            assert bubble.get_attribute("lang") == expected, text
        page.screenshot(path=str(_artifact("widget-languages")))
    finally:
        context.close()
