"""The Audit log page in headless Chromium against the page tests' crm_bridge: a failed sign-in made over
HTTP shows up under the action filter with its target, address and request id, and the CSV link carries
the filters. Screenshots go to test-artifacts/pages/."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import AGENT, Server, Tab


def test_the_audit_page_filters_entries_and_links_the_csv(admin: Tab, server: Server) -> None:
    request_id = f"browser-{uuid.uuid4().hex[:12]}"
    failed = httpx.post(
        f"{server.base_url}/api/v1/auth/token",
        data={"username": AGENT[0], "password": "not the password"},
        headers={"X-Request-ID": request_id},
        timeout=30,
    )
    assert failed.status_code == 401
    page = admin.page
    page.goto("/admin/audit")
    expect(page.locator("#audit-summary")).to_contain_text("newest first")
    page.fill("#filter-action", "auth.login_failed")
    page.click("#audit-filters button[type=submit]")
    row = page.locator("#audit-table tbody tr", has_text=request_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("anonymous")
    expect(row).to_contain_text("127.0.0.1")
    expect(row).to_contain_text('"reason":"invalid_credentials"')
    actions = page.locator("#audit-table tbody td:nth-child(4)").all_inner_texts()
    assert set(actions) == {"auth.login_failed"}, actions
    href = page.locator("#audit-csv").get_attribute("href")
    assert href == "/api/v1/audit.csv?action=auth.login_failed"
    with page.expect_download() as download:
        page.click("#audit-csv")
    assert request_id in download.value.path().read_text()
    assert admin.errors == []
    admin.shot("audit")
