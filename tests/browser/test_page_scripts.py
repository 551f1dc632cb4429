"""Every admin page's ES modules load under the pages' Content-Security-Policy and run: each page shows
what only its script writes, and no page has an uncaught error (a missing export or a module the policy
blocks would be one)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import Tab

PATHS = ["/admin/kb", "/admin/kb/new", "/admin/kb/try", "/admin/kb/import", "/admin/kb/unanswered",
         "/admin/agent", "/admin/agent/canned", "/admin/agent/load",
         "/admin/channels", "/admin/jobs", "/admin/audit",
         "/admin/reports", "/admin/reports/drilldown?metric=conversations", "/admin/reports/voice",
         "/admin/reports/at-risk"]  # fmt: skip
# What only a page's script writes as soon as it runs (the other pages act on a click).
WRITES = {
    "/admin/kb": ("#list-summary", re.compile(r"entries|No entries match")),
    "/admin/kb/unanswered": ("#unanswered-summary", re.compile(r"group|Nothing unanswered")),
    "/admin/agent": ("#ws-state", re.compile(r"^live$")),
    "/admin/agent/load": ("#load-updated", re.compile(r"^updated ")),
    "/admin/channels": ("#channels-updated", re.compile(r" configured · updated ")),
    "/admin/jobs": ("#jobs-summary", re.compile(r"dead job|No dead jobs")),
    "/admin/audit": ("#audit-summary", re.compile(r"newest first|No entries match")),
    "/admin/reports": ("#reports-status", re.compile(r"^Period ")),
    "/admin/reports/drilldown?metric=conversations": ("#drill-summary", re.compile(r"^Records |^Nothing ")),
    "/admin/reports/voice": ("#voice-status", re.compile(r"^Period ")),
    "/admin/reports/at-risk": ("#risk-summary", re.compile(r" of \d+\.$|^No contact at risk")),
}


def test_every_page_runs_its_modules_without_errors(admin: Tab) -> None:
    page = admin.page
    for path in PATHS:
        response = page.goto(path)
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        if path in WRITES:
            selector, text = WRITES[path]
            expect(page.locator(selector)).to_have_text(text)
        page.wait_for_load_state("networkidle" if path != "/admin/agent" else "load")
        classic = page.evaluate("document.querySelectorAll('script:not([type=module])').length")
        assert classic == 0, path
    assert admin.errors == []


def test_the_console_loads_each_module_once(admin: Tab) -> None:
    page = admin.page
    page.goto("/admin/agent")
    expect(page.locator("#ws-state")).to_have_text("live")
    scripts = page.evaluate(
        "performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'script' || "
        "e.name.endsWith('.js')).map((e) => new URL(e.name).pathname)"
    )
    assert "/admin/static/console/main.js" in scripts and "/admin/static/lib/api.js" in scripts
    assert len(scripts) == len(set(scripts))  # admin.js and the console share lib/*.js: fetched once
    assert admin.errors == []
