"""The voice of the customer and at-risk pages (/admin/reports/voice, /admin/reports/at-risk) in headless
Chromium against the page tests' crm_bridge, its real reports API and its real sentence model: a known
history (a topic said three ways in the period and once before it, another topic, unanswered questions,
knowledge-base decisions, one contact with every at-risk reason) is seeded once under a tag of its own in
a past window no other page test writes to. The pages must show the API's groups, counts, trends and
reasons, hide voice and topics from an agent, show a refusal or a failure as a note, say when a list is
empty, and keep their filters in the URL. Screenshots go to var/screenshots/ (and test-artifacts/pages/)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Tier
from crm_bridge.kb.models import KbDecision
from crm_bridge.tickets.models import TicketStatus
from kefu_core.db import make_engine
from knowledge_base.models import UnansweredQuestion
from tests.browser.conftest import AGENT, ROOT, Server, Tab
from tests.crm_bridge.reports.voice_data import (
    contact,
    conversation,
    escalate,
    new_tag,
    rate,
    say,
    ticket_change,
)

SCREENSHOTS = ROOT / "var" / "screenshots"
TODAY = datetime.now(UTC).date()
FIRST_DAY = TODAY - timedelta(days=20)  # test_admin_reports.py writes 8 to 5 days ago; this and the
LAST_DAY = TODAY - timedelta(days=14)  # previous period (27 to 21 days ago) are this module's alone
BROKEN = "my parcel arrived broken"
SLOW = "the refund is far too slow"
CROWD = 27  # at-risk contacts under a second tag: a page of 25 and one of 2


def _at(days_after_first: int, hour: int) -> datetime:
    return datetime.combine(FIRST_DAY + timedelta(days=days_after_first), time(hour), tzinfo=UTC)


@dataclass(frozen=True)
class History:
    """What the seed wrote: the tag, the at-risk contact, and the period's query string."""

    tag: str
    crowd_tag: str
    risky_id: int
    calm_id: int
    query: str


@pytest.fixture(scope="module")
def history(server: Server) -> History:
    """The seeded history (once per module) on the page tests' database."""
    tag = new_tag()
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        risky = contact(session, tag, "Risky Customer", Tier.vip)
        calm = contact(session, tag, "Calm Customer")
        before = conversation(session, risky, _at(-3, 8))
        say(session, before, BROKEN, _at(-3, 9), "negative")  # the previous period: the trend's 1
        first = conversation(session, risky, _at(1, 8))
        say(session, first, BROKEN, _at(1, 9), "negative")  # a complaint's words: counted once
        escalate(session, first, "complaint", _at(1, 10))
        second = conversation(session, risky, _at(2, 8))
        say(session, second, BROKEN, _at(2, 9), "negative")
        rate(session, second, risky, 1, BROKEN, _at(2, 10))
        ticket_change(session, risky, second, TicketStatus.resolved, TicketStatus.open, _at(3, 9))
        third = conversation(session, calm, _at(3, 8))
        say(session, third, SLOW, _at(3, 9), "negative")  # one negative: a topic, not a risk
        for n, (text, resolved) in enumerate([("can I pay with bitcoin", False),
                                              ("can I pay with bitcoin", True),
                                              ("do you ship to Mars", False)]):  # fmt: skip
            session.add(UnansweredQuestion(text=text, language="en", conversation_id=third.id,
                                           created_at=_at(3, 10 + n),
                                           resolved_at=_at(4, 9) if resolved else None))  # fmt: skip
        for decision in ("none", "none", "clarify"):
            session.add(KbDecision(conversation_id=third.id, language="en", decision=decision,
                                   top_faq_id="faq-gone", created_at=_at(3, 12)))  # fmt: skip
        crowd = new_tag()  # enough low ratings for two pages of the at-risk list
        for n in range(CROWD):
            person = contact(session, crowd, f"Crowd {n:02d}")
            rate(session, conversation(session, person, _at(4, 8)), person, 2, None, _at(4, 9))
        ids = risky.id, calm.id
        session.commit()
    engine.dispose()
    query = f"from={FIRST_DAY.isoformat()}&to={LAST_DAY.isoformat()}&tag={tag}"
    return History(tag=tag, crowd_tag=crowd, risky_id=ids[0], calm_id=ids[1], query=query)


def _api(page: Page, path: str) -> Any:
    answer = page.request.get(path)
    assert answer.ok, (path, answer.status, answer.text())
    return answer.json()


def _loaded(page: Page) -> None:
    expect(page.locator("body[data-loaded]")).to_have_count(1)


def _shot(tab: Tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    tab.shot(name)


def _change(n: int) -> str:
    return f"▲ +{n}" if n > 0 else f"▼ −{-n}" if n < 0 else "= 0"


def test_the_groups_and_counts_are_the_apis(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports/voice?{history.query}")
    _loaded(page)
    voice = _api(page, f"/api/v1/reports/voice?{history.query}")
    groups = voice["groups"]
    # The seed's own expectations, so the comparison below is not of two empty lists.
    top = groups[0]
    assert (top["topic"], top["count"], top["kinds"]) == (
        BROKEN,
        3,
        {"complaint": 1, "negative": 1, "low_rating": 1},
    )
    assert (top["trend"]["previous"], top["trend"]["change"], top["conversations"]) == (1, 2, 2)
    assert [g["topic"] for g in groups] == [BROKEN, SLOW] and voice["total"] == 4
    rows = page.locator("#voice-table tbody tr")
    expect(rows).to_have_count(len(groups))
    for i, group in enumerate(groups):
        row = rows.nth(i)
        expect(row).to_have_attribute("data-topic", group["topic"])
        expect(row.locator("td.count")).to_have_text(str(group["count"]))
        expect(row.locator(".trend-change")).to_have_text(_change(group["trend"]["change"]))
        expect(row.locator(".trend-previous")).to_have_text(f" previous {group['trend']['previous']}")
        hrefs = row.locator("a.conversation-link").evaluate_all(
            "(links) => links.map((a) => a.getAttribute('href'))"
        )
        assert hrefs == [f"/api/v1/conversations/{cid}" for cid in group["conversation_ids"]]
        mix = " · ".join(f"{k} {n}" for k, n in group["sentiment"].items() if n)
        expect(row.locator("td.sentiment div")).to_have_text(mix)
    expect(rows.first.locator("td.kinds")).to_have_text(
        "1 complaint · 1 negative message · 1 low-rating comment"
    )
    expect(page.locator("#voice-summary")).to_contain_text("4 texts in the period")
    # A conversation link opens the conversation the API has (its JSON detail: there is no page yet).
    detail = _api(page, rows.first.locator("a.conversation-link").first.get_attribute("href") or "")
    assert detail["id"] == top["conversation_ids"][0]

    topics = _api(page, f"/api/v1/reports/topics?{history.query}")
    intents = topics["intents"]
    if intents["available"]:
        expect(page.locator("#intents tr[data-intent]")).to_have_count(len(intents["items"]))
    else:
        expect(page.locator("#intents .unavailable")).to_have_text("Not available: " + intents["reason"])
    assert topics["faq"]["decisions"] == {"answer": 0, "clarify": 1, "none": 2}
    expect(page.locator("#faq tr[data-faq]")).to_have_count(1)
    expect(page.locator('#faq tr[data-faq="faq-gone"] td').first).to_have_text("(deleted entry faq-gone)")
    expect(page.locator("#faq .topics-body p").first).to_contain_text(
        "3 searches: 0 answered, 1 clarified, 2 not answered"
    )
    unanswered = topics["unanswered"]["groups"]
    assert [(g["topic"], g["count"], g["open"]) for g in unanswered] == [
        ("can I pay with bitcoin", 2, 1), ("do you ship to Mars", 1, 1)]  # fmt: skip
    shown = page.locator("#unanswered tbody tr")
    expect(shown).to_have_count(2)
    for i, group in enumerate(unanswered):
        expect(shown.nth(i)).to_have_attribute("data-topic", group["topic"])
        expect(shown.nth(i).locator("td.num").first).to_have_text(str(group["count"]))
    _shot(admin, "reports-voice")
    assert admin.errors == []


def test_the_at_risk_list_shows_the_contact_and_its_reasons(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports/at-risk?{history.query}")
    _loaded(page)
    listing = _api(page, f"/api/v1/reports/at-risk?{history.query}")
    assert [i["contact_id"] for i in listing["items"]] == [history.risky_id]  # one negative is no trend
    item = listing["items"][0]
    assert item["score"] == 100
    row = page.locator(f'#risk-table tr[data-contact="{history.risky_id}"]')
    expect(page.locator("#risk-table tbody tr")).to_have_count(1)
    expect(row.locator("td.score")).to_have_text("100")
    expect(row).to_contain_text("Risky Customer")
    codes = row.locator("ul.reasons li").evaluate_all("(items) => items.map((li) => li.dataset.code)")
    assert codes == [r["code"] for r in item["reasons"]]
    assert codes == ["low_rating", "reopened_ticket", "complaint", "negative_sentiment"]
    expect(row.locator('li[data-code="low_rating"]')).to_contain_text("Low rating 1/5")
    expect(row.locator('li[data-code="negative_sentiment"]')).to_contain_text("2 of their last 2 messages")
    expect(row.locator("td.last-contact")).not_to_have_text("—")
    expect(page.locator("#risk-summary")).to_have_text("Contacts 1–1 of 1.")
    expect(page.locator("#risk-next")).to_be_disabled()
    _shot(admin, "reports-at-risk")
    assert admin.errors == []


def test_an_agent_sees_at_risk_but_not_voice_or_topics(tab: Tab, history: History) -> None:
    tab.login(*AGENT)
    page = tab.page
    page.goto(f"/admin/reports?{history.query}")
    _loaded(page)
    expect(page.locator("#link-voice")).to_have_count(0)
    page.click("#link-at-risk")
    page.wait_for_url("**/admin/reports/at-risk?**")
    _loaded(page)
    expect(page.locator(f'#risk-table tr[data-contact="{history.risky_id}"] td.score')).to_have_text("100")
    assert parse_qs(urlsplit(page.url).query)["tag"] == [history.tag]
    page.goto(f"/admin/reports/voice?{history.query}")
    expect(page.locator("#voice-admins-only")).to_be_visible()
    expect(page.locator("#voice-table")).to_have_count(0)
    expect(page.locator("#topics")).to_have_count(0)
    assert page.request.get(f"/api/v1/reports/voice?{history.query}").status == 403
    assert page.request.get(f"/api/v1/reports/topics?{history.query}").status == 403
    assert tab.errors == []


def _refuse(status: int, message: str) -> Any:
    def handler(route: Route) -> None:
        body = {"error": {"code": "forbidden" if status == 403 else "internal", "message": message}}
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    return handler


def test_a_refusal_or_a_failure_is_a_note_and_the_rest_still_shows(admin: Tab, history: History) -> None:
    page = admin.page
    page.route(re.compile(r"/api/v1/reports/voice\?"), _refuse(403, "admins only"))
    page.route(re.compile(r"/api/v1/reports/topics\?"), _refuse(500, "the topics report failed"))
    page.goto(f"/admin/reports/voice?{history.query}")
    _loaded(page)
    expect(page.locator("#voice-error")).to_have_text(
        "Only admins can see this: it quotes customers' own words."
    )
    expect(page.locator("#voice-table tbody tr")).to_have_count(0)
    expect(page.locator("#topics-error")).to_have_text("the topics report failed")
    page.unroute(re.compile(r"/api/v1/reports/topics\?"))
    page.reload()
    _loaded(page)
    expect(page.locator("#topics-error")).to_be_hidden()
    expect(page.locator("#unanswered tbody tr")).to_have_count(2)  # topics came though voice was refused
    page.route(re.compile(r"/api/v1/reports/at-risk\?"), _refuse(500, "the list failed"))
    page.goto(f"/admin/reports/at-risk?{history.query}")
    _loaded(page)
    expect(page.locator("#risk-error")).to_have_text("the list failed")
    expect(page.locator("#risk-summary")).to_have_text("The list could not be loaded.")
    assert admin.errors == []


def test_an_empty_period_says_so(admin: Tab, history: History) -> None:
    page = admin.page
    empty = f"from={(TODAY - timedelta(days=120)).isoformat()}&to={(TODAY - timedelta(days=110)).isoformat()}"
    page.goto(f"/admin/reports/voice?{empty}&tag={history.tag}")
    _loaded(page)
    expect(page.locator("#voice-table tbody tr.empty")).to_have_text(
        "No complaints, negative messages or low ratings in this period."
    )
    expect(page.locator("#faq .empty")).to_be_visible()
    expect(page.locator("#unanswered .empty")).to_have_text(
        "The bot answered everything it was asked in this period."
    )
    page.goto(f"/admin/reports/at-risk?{empty}&tag={history.tag}")
    _loaded(page)
    expect(page.locator("#risk-table tbody tr.empty")).to_have_text("Nobody is at risk in this period.")
    expect(page.locator("#risk-summary")).to_have_text("No contact at risk.")
    assert admin.errors == []


def test_the_filters_round_trip_through_the_url(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports/voice?{history.query}")
    _loaded(page)
    expect(page.locator("#filter-tag")).to_have_value(history.tag)
    page.fill("#filter-tier", "vip")
    page.fill("#filter-channel", "rest")
    with page.expect_request(lambda r: "/api/v1/reports/voice?" in r.url) as request:
        page.click("#report-filters button[type=submit]")
    expected = {"from": [FIRST_DAY.isoformat()], "to": [LAST_DAY.isoformat()], "channel": ["rest"],
                "tier": ["vip"], "tag": [history.tag]}  # fmt: skip
    assert parse_qs(urlsplit(page.url).query) == expected
    assert parse_qs(urlsplit(request.value.url).query) == expected
    _loaded(page)
    # Only the VIP contact's texts: the refund complaint (the calm contact's) is gone.
    expect(page.locator("#voice-table tbody tr")).to_have_count(1)
    expect(page.locator("#voice-table tbody tr").first).to_have_attribute("data-topic", BROKEN)
    page.reload()
    _loaded(page)
    expect(page.locator("#filter-tier")).to_have_value("vip")
    expect(page.locator("#filter-channel")).to_have_value("rest")
    # The links to the other Reports pages carry the same filters.
    for link in ("#link-at-risk", "#report-filters + nav a[data-subpage='/admin/reports']"):
        href = page.locator(link).get_attribute("href") or ""
        assert parse_qs(urlsplit(href).query) == expected, link
    page.go_back()
    _loaded(page)
    expect(page.locator("#filter-tier")).to_have_value("")
    expect(page.locator("#voice-table tbody tr")).to_have_count(2)
    page.go_forward()
    _loaded(page)
    expect(page.locator("#filter-tier")).to_have_value("vip")
    page.click("#link-at-risk")
    page.wait_for_url("**/admin/reports/at-risk?**")
    _loaded(page)
    expect(page.locator("#filter-tier")).to_have_value("vip")
    expect(page.locator(f'#risk-table tr[data-contact="{history.risky_id}"]')).to_have_count(1)
    page.fill("#filter-tier", "standard")
    page.click("#report-filters button[type=submit]")
    _loaded(page)
    expect(page.locator("#risk-table tbody tr.empty")).to_have_count(1)  # the risky contact is VIP
    page.fill("#filter-from", LAST_DAY.isoformat())
    page.fill("#filter-to", FIRST_DAY.isoformat())
    page.click("#report-filters button[type=submit]")
    expect(page.locator("#error-from")).to_be_visible()
    expect(page.locator("#filter-from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#risk-error")).to_be_hidden()
    assert admin.errors == []


def test_the_at_risk_list_pages_with_the_offset_in_the_url(admin: Tab, history: History) -> None:
    page = admin.page
    period = f"from={FIRST_DAY.isoformat()}&to={LAST_DAY.isoformat()}&tag={history.crowd_tag}"
    page.goto(f"/admin/reports/at-risk?{period}")
    _loaded(page)
    expect(page.locator("#risk-table tbody tr")).to_have_count(25)
    expect(page.locator("#risk-summary")).to_have_text(f"Contacts 1–25 of {CROWD}.")
    expect(page.locator("#risk-prev")).to_be_disabled()
    first_page = _api(page, f"/api/v1/reports/at-risk?{period}&limit=25")["items"]
    shown = page.locator("#risk-table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => Number(r.dataset.contact))"
    )
    assert shown == [i["contact_id"] for i in first_page]
    page.click("#risk-next")
    _loaded(page)
    assert parse_qs(urlsplit(page.url).query)["offset"] == ["25"]
    expect(page.locator("#risk-table tbody tr")).to_have_count(CROWD - 25)
    expect(page.locator("#risk-summary")).to_have_text(f"Contacts 26–{CROWD} of {CROWD}.")
    expect(page.locator("#risk-next")).to_be_disabled()
    rest = _api(page, f"/api/v1/reports/at-risk?{period}&limit=25&offset=25")["items"]
    shown = page.locator("#risk-table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => Number(r.dataset.contact))"
    )
    assert shown == [i["contact_id"] for i in rest]
    page.reload()
    _loaded(page)
    expect(page.locator("#risk-summary")).to_have_text(f"Contacts 26–{CROWD} of {CROWD}.")
    # The links to the other Reports pages carry the filters but not the page.
    assert "offset" not in (
        page.locator("a[data-subpage='/admin/reports/voice']").get_attribute("href") or ""
    )
    page.click("#risk-prev")
    _loaded(page)
    expect(page.locator("#risk-summary")).to_have_text(f"Contacts 1–25 of {CROWD}.")
    assert "offset" not in parse_qs(urlsplit(page.url).query)
    assert admin.errors == []
