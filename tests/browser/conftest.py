"""The real crm_bridge under uvicorn on a free port (fresh SQLite database), and headless Chromium
(Debian's /usr/bin/chromium, see scripts/ensure_browsers.sh) driven by Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, sync_playwright
from sqlalchemy.orm import Session

from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from kefu.bootstrap import prepare_database
from kefu.stack import free_port
from kefu_core.db import make_engine
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import sqlite_url

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
SERVICE_TOKEN = "pages-service-token-0123456789abcdef"
ADMIN = ("pages-admin", "admin password 1")
AGENT = ("pages-agent", "agent password 1")
TELEGRAM_TOKEN = "777000:PAGES-telegram-token-never-shown"
TELEGRAM_SECRET = "pages-webhook-secret-never-shown"


@dataclass
class Server:
    """A running crm_bridge."""

    base_url: str
    service_token: str
    log_path: Path
    database_url: str = ""


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    """The local fake Bot API that the server's Telegram channel sends to (test_admin_channels.py)."""
    fake = FakeTelegram(TELEGRAM_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, telegram: FakeTelegram) -> Iterator[Server]:
    """crm_bridge on 127.0.0.1:<free port>, migrated, seeded, with one admin and one agent, and the
    Telegram channel on (the Channels page and the console's delivery state need one configured)."""
    channel = {
        "KEFU_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "KEFU_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "KEFU_TELEGRAM_API_URL": telegram.url,
    }
    with running_server(tmp_path_factory.mktemp("pages-var"), channel) as running:
        yield running


@contextmanager
def running_server(var: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """crm_bridge with its database and files in `var` (and `extra_env`, e.g. a channel's settings)."""
    shared_models = ROOT / "var" / "models"  # the ONNX export and sentiment model `make` built once
    if shared_models.is_dir() and not (var / "models").exists():
        (var / "models").symlink_to(shared_models)  # else every server start exports MiniLM again (minutes)
    url = sqlite_url(var)
    prepare_database(url, demo_users=False)
    engine = make_engine(url)
    with Session(engine) as session:
        users.create(session, username=ADMIN[0], password=ADMIN[1], role=Role.admin)
        users.create(session, username=AGENT[0], password=AGENT[1], role=Role.agent)
        session.commit()
    engine.dispose()
    port = free_port()
    bot = FakeRasa().start()  # the bot answers "echo: <text>" (the real Rasa is the e2e tests' business)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KEFU_VAR_DIR": str(var),
        "KEFU_SECRET_KEY": "pages-secret-key-0123456789abcdef0123456789",
        "KEFU_SERVICE_TOKEN": SERVICE_TOKEN,
        "RASA_URL": bot.url,
        "ACTION_SERVER_URL": bot.url,
        # The page tests share one agent account for minutes: a console closed by an earlier test must not
        # make that agent "away" later (presence timing: tests/crm_bridge/escalation/test_presence.py).
        "KEFU_AGENT_AWAY_SECONDS": "3600",
        **(extra_env or {}),
    }
    log_path = var / "crm_bridge.log"
    cmd = [
        sys.executable, "-m", "uvicorn", "crm_bridge.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, f"{base_url}/livez", log_path)
        yield Server(base_url, SERVICE_TOKEN, log_path, url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        bot.stop()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"crm_bridge exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"crm_bridge not ready after {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_browsers.sh (make browsers)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page in a fresh browser context, every JavaScript dialog it opened and every uncaught error."""

    page: Page
    context: BrowserContext
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def login(self, username: str, password: str) -> None:
        """Log in through the login form."""
        self.page.goto("/admin/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()

    def shot(self, name: str) -> None:
        """Keep a full-page screenshot as test-artifacts/pages/<name>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A new browser context (no cookies) on the server."""
    context = browser.new_context(
        base_url=server.base_url, accept_downloads=True, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    tab = Tab(page, context)

    def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def admin(tab: Tab) -> Tab:
    """A tab logged in as the admin."""
    tab.login(*ADMIN)
    return tab


@pytest.fixture
def service_api(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client holding the service token."""
    headers = {"Authorization": f"Bearer {server.service_token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield client
