"""The Reports dashboard in headless Chromium against the page tests' crm_bridge and its real reports API: a
known history (conversations over four past days on two channels and two languages, handoffs, agent
replies, ratings, probe minutes) is seeded once; the page must show the API's figures, keep its filters in
the URL, link every number to its drill-down and the drill-down to a CSV of the same filters, scope an
agent to their own figures, name the bad field of a bad range, and draw its charts (pixels checked).
Screenshots go to var/screenshots/ (and test-artifacts/pages/)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.feedback.models import Feedback
from crm_bridge.reports import facts, probe
from crm_bridge.users.models import User
from kefu_core.db import make_engine
from tests.browser.conftest import ADMIN, AGENT, ROOT, Server, Tab

SCREENSHOTS = ROOT / "var" / "screenshots"
TODAY = datetime.now(UTC).date()
FIRST_DAY = TODAY - timedelta(days=8)  # a past window: other page tests' conversations (today) stay out
LAST_DAY = TODAY - timedelta(days=5)
PERIOD = f"from={FIRST_DAY.isoformat()}&to={LAST_DAY.isoformat()}"
# Per conversation of a day: channel, language, tier, tag, whose (agent or admin), first reply after the
# handoff (s), rating (None: not rated).
DAY_PLAN = [
    ("web", "en", Tier.standard, "refund", "agent", 30, 5),
    ("telegram", "zh", Tier.vip, "shipping", "admin", 300, 2),
    ("web", "zh", Tier.vip, "refund", "agent", 90, 4),
]


@dataclass(frozen=True)
class History:
    """What the seed wrote: the agent's user id and the period's query string."""

    agent_id: int
    admin_id: int
    query: str


def _user_id(session: Session, username: str) -> int:
    return session.scalars(select(User.id).where(User.username == username)).one()


def _seed_day(session: Session, day: date, ids: dict[str, int]) -> None:
    for n, (channel, language, tier, tag, whose, reply_after, rating) in enumerate(DAY_PLAN):
        start = datetime.combine(day, time(9 + 3 * n, 15), tzinfo=UTC)
        contact = Contact(
            name=f"Report contact {day} {n}", tier=tier, tags=[tag], preferred_language=language
        )
        session.add(contact)
        session.flush()
        handoff = start + timedelta(seconds=20)
        replied = handoff + timedelta(seconds=reply_after)
        conv = Conversation(contact_id=contact.id, channel=channel, language=language, assignee_id=ids[whose],
                            status=ConversationStatus.agent, started_at=start, first_response_at=replied,
                            queued_at=handoff)  # fmt: skip
        session.add(conv)
        session.flush()
        said = [(MessageRole.customer, "Where is my parcel?", start, None),
                (MessageRole.bot, "Let me find someone.", start + timedelta(seconds=2), None),
                (MessageRole.agent, "I am looking at it now.", replied, ids[whose])]  # fmt: skip
        if n == 1:  # a second agent reply: not resolved at first contact
            said.append((MessageRole.agent, "Found it.", replied + timedelta(minutes=5), ids[whose]))
        for role, text, at, author in said:
            session.add(Message(conversation_id=conv.id, role=role, text=text, channel=channel,
                                language=language, author_id=author, created_at=at))  # fmt: skip
        session.add(Escalation(conversation_id=conv.id, reason="customer_request", outcome="queued",
                               created_at=handoff))  # fmt: skip
        session.flush()
        conv.status = ConversationStatus.resolved
        conv.resolved_at = replied + timedelta(minutes=30)
        if rating is not None:
            session.add(Feedback(rating=rating, conversation_id=conv.id, contact_id=contact.id,
                                 agent_id=ids[whose], created_at=conv.resolved_at))  # fmt: skip
        session.flush()
    for minute in range(0, 60, 10):  # six probe minutes a day, one of them with Rasa down
        at = datetime.combine(day, time(12, minute), tzinfo=UTC)
        parts: dict[str, dict[str, object]] = {
            name: {"ok": not (minute == 30 and name == "rasa")} for name in probe.PARTS
        }
        probe.store(session, minute=at, parts=parts, checked_at=at, duration_ms=5)


@pytest.fixture(scope="module")
def history(server: Server) -> History:
    """The seeded history (once per module) on the page tests' database."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        ids = {"agent": _user_id(session, AGENT[0]), "admin": _user_id(session, ADMIN[0])}
        day = FIRST_DAY
        while day <= LAST_DAY:
            _seed_day(session, day, ids)
            day += timedelta(days=1)
        session.commit()
        facts.rebuild(session)  # the listeners kept them already; a rebuild is cheap and makes sure
        session.commit()
    engine.dispose()
    return History(agent_id=ids["agent"], admin_id=ids["admin"], query=PERIOD)


def _api(page: Page, path: str) -> Any:
    """GET a reports API path with the page's session cookie."""
    answer = page.request.get(path)
    assert answer.ok, (path, answer.status, answer.text())
    return answer.json()


def _loaded(page: Page) -> None:
    expect(page.locator("body[data-loaded]")).to_have_count(1)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s // 3600} h" + (f" {s % 3600 // 60} min" if s % 3600 // 60 else "")


def _score(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _shot(tab: Tab, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.page.screenshot(path=str(path), full_page=True)
    tab.shot(name)
    return path


def _line_pixels(png: bytes, colour: tuple[int, int, int]) -> int:
    """Pixels within a small distance of `colour` in the middle of a chart (its plot area)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    plot = image.crop((int(w * 0.12), int(h * 0.12), int(w * 0.97), int(h * 0.75)))
    pixels = plot.load()
    assert pixels is not None
    near = 0
    for x in range(plot.width):
        for y in range(plot.height):
            rgb = pixels[x, y]
            assert isinstance(rgb, tuple)
            near += sum(abs(int(a) - b) for a, b in zip(rgb, colour, strict=True)) < 60
    return near


def test_the_dashboard_shows_the_apis_figures_against_their_targets(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports?{history.query}")
    _loaded(page)
    kpis = _api(page, f"/api/v1/reports/summary?{history.query}")["kpis"]
    shown = {
        "fcr": _percent(kpis["fcr"]["rate"]),
        "first_response": _duration(kpis["first_response"]["mean_business_s"]),  # 24/7: the same
        "csat": _score(kpis["csat"]["score_100"]),
        "availability": _percent(kpis["availability"]["rate"]),
    }
    assert "—" not in shown.values(), kpis  # the seeded history gives every standard a figure
    for key, text in shown.items():
        card = page.locator(f"#kpi-{key}")
        expect(card.locator(".kpi-value")).to_have_text(text)
        met = kpis[key]["met"]
        expect(card.locator(".badge")).to_have_text({True: "Met", False: "Missed", None: "No data"}[met])
        assert card.get_attribute("data-met") == str(met).lower()
    # The seeds' standards are both met and missed in this history: the page shows both states.
    assert {kpis[k]["met"] for k in shown} == {True, False}, kpis
    assert kpis["first_response"]["mean_s"] == pytest.approx(140)  # 30, 300 and 90 s after the handoff
    for row, value in [("first_response.mean_s", _duration(140)),
                       ("first_response.median_s", _duration(kpis["first_response"]["median_s"])),
                       ("fcr.rate", _percent(kpis["fcr"]["rate"]))]:  # fmt: skip
        expect(page.locator(f'#kpi-more tr[data-kpi="{row}"] td').first).to_have_text(value)
    # Charts: each has drawn its data line (the series colour is in its plot area) on a non-blank canvas.
    for chart, colour in [("volume", (37, 99, 235)), ("first-response", (124, 58, 237))]:
        expect(page.locator(f"#chart-box-{chart} .chart-note")).to_have_text("")
        png = page.locator(f"#chart-{chart}").screenshot()
        assert _line_pixels(png, colour) > 150, chart
    path = _shot(admin, "reports")
    assert Image.open(path).size[0] >= 1280
    assert admin.errors == []


def test_the_filters_round_trip_through_the_url(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports?{history.query}")
    _loaded(page)
    page.fill("#filter-channel", "web")
    page.fill("#filter-language", "zh")
    page.fill("#filter-tier", "vip")
    page.fill("#filter-tag", "refund")
    page.select_option("#filter-interval", "week")
    with page.expect_request(lambda r: "/api/v1/reports/summary?" in r.url) as request:
        page.click("#report-filters button[type=submit]")
    query = parse_qs(urlsplit(page.url).query)
    expected = {"from": [FIRST_DAY.isoformat()], "to": [LAST_DAY.isoformat()], "channel": ["web"],
                "language": ["zh"], "tier": ["vip"], "tag": ["refund"], "interval": ["week"]}  # fmt: skip
    assert query == expected
    sent = parse_qs(urlsplit(request.value.url).query)
    assert sent == {k: v for k, v in expected.items() if k != "interval"}
    csv_query = parse_qs(urlsplit(page.locator("#reports-csv").get_attribute("href") or "").query)
    assert csv_query == {**sent, "metric": ["conversations"]}  # the period's conversations
    _loaded(page)
    page.reload()
    _loaded(page)
    for field, value in [("channel", "web"), ("language", "zh"), ("tier", "vip"), ("tag", "refund")]:
        expect(page.locator(f"#filter-{field}")).to_have_value(value)
    expect(page.locator("#filter-interval")).to_have_value("week")
    # Only the web, Chinese, VIP, refund conversations count: the third of each day's plan.
    volume = _api(page, "/api/v1/reports/summary?" + urlsplit(request.value.url).query)
    assert volume["kpis"]["first_response"]["mean_s"] == pytest.approx(90)
    expect(page.locator("#kpi-first_response .kpi-value")).to_have_text(_duration(90))
    page.go_back()
    expect(page.locator("#filter-channel")).to_have_value("")
    expect(page.locator("#filter-interval")).to_have_value("day")
    assert parse_qs(urlsplit(page.url).query) == {
        "from": [FIRST_DAY.isoformat()],
        "to": [LAST_DAY.isoformat()],
    }
    page.go_forward()
    expect(page.locator("#filter-tag")).to_have_value("refund")
    assert admin.errors == []


def test_a_number_opens_its_drilldown_whose_csv_carries_the_filters(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports?{history.query}&channel=web")
    _loaded(page)
    link = page.locator("#kpi-first_response .kpi-value a")
    href = link.get_attribute("href") or ""
    link.click()
    page.wait_for_url("**/admin/reports/drilldown?**")  # a real link: a new tab and back work too
    assert urlsplit(page.url).path == "/admin/reports/drilldown"
    query = parse_qs(urlsplit(page.url).query)
    assert query["metric"] == ["first_response_business_mean"] and query["channel"] == ["web"], href
    _loaded(page)
    answer = _api(page, "/api/v1/reports/drilldown?" + urlsplit(page.url).query)
    assert answer["total"] == 8  # two web conversations a day over four days
    expect(page.locator("#drill-table tbody tr")).to_have_count(len(answer["items"]))
    expect(page.locator("#drill-summary")).to_contain_text(f"of {answer['total']}")
    first = answer["items"][0]
    expect(page.locator("#drill-table tbody tr").first).to_have_attribute("data-id", str(first["id"]))
    csv_href = page.locator("#drill-csv").get_attribute("href") or ""
    assert urlsplit(csv_href).path == "/api/v1/reports/export.csv"
    assert parse_qs(urlsplit(csv_href).query) == {k: v for k, v in query.items() if k != "offset"}
    with page.expect_download() as download:
        page.click("#drill-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert str(first["id"]) in text
    _shot(admin, "reports-drilldown")
    page.click("#drill-back")
    expect(page.locator("#filter-channel")).to_have_value("web")
    assert admin.errors == []


def test_an_agent_sees_only_their_own_figures(tab: Tab, history: History) -> None:
    tab.login(*AGENT)
    page = tab.page
    page.goto(f"/admin/reports?{history.query}")
    _loaded(page)
    expect(page.locator("#filter-agent")).to_have_count(0)
    mine = _api(page, f"/api/v1/reports/summary?{history.query}")["kpis"]
    everyone = _api(page, f"/api/v1/reports/summary?{history.query}&agent_id={history.admin_id}")["kpis"]
    assert everyone == mine  # the API ignores another agent's id for an agent
    # The agent's conversations were answered after 30 and 90 s: mean 60 s (everyone's: 140 s).
    assert mine["first_response"]["mean_s"] == pytest.approx(60)
    expect(page.locator("#kpi-first_response .kpi-value")).to_have_text(_duration(60))
    expect(page.locator("#kpi-fcr .kpi-value")).to_have_text(_percent(mine["fcr"]["rate"]))
    assert tab.errors == []


def test_a_bad_range_is_shown_next_to_its_field(admin: Tab, history: History) -> None:
    page = admin.page
    page.goto(f"/admin/reports?{history.query}")
    _loaded(page)
    page.fill("#filter-from", LAST_DAY.isoformat())
    page.fill("#filter-to", FIRST_DAY.isoformat())
    page.click("#report-filters button[type=submit]")
    expect(page.locator("#error-from")).to_be_visible()
    expect(page.locator("#error-from")).to_contain_text("from")
    expect(page.locator("#filter-from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reports-error")).to_be_hidden()
    page.goto(f"/admin/reports?from={(TODAY - timedelta(days=900)).isoformat()}&to={TODAY.isoformat()}")
    expect(page.locator("#error-to")).to_contain_text("400 days")
    expect(page.locator("#error-from")).to_be_hidden()
    assert admin.errors == []


def test_an_empty_period_shows_dashes_not_errors(admin: Tab, history: History) -> None:
    page = admin.page
    empty = TODAY - timedelta(days=200)
    page.goto(f"/admin/reports?from={empty.isoformat()}&to={empty.isoformat()}")
    _loaded(page)
    expect(page.locator("#kpi-fcr .kpi-value")).to_have_text("—")
    expect(page.locator("#kpi-first_response .kpi-value")).to_have_text("—")
    expect(page.locator("#kpi-fcr .badge")).to_have_text("No data")
    expect(page.locator("#reports-error")).to_be_hidden()
    assert admin.errors == []


def test_the_page_needs_a_session(tab: Tab, history: History) -> None:
    response = tab.page.goto("/admin/reports")
    assert response is not None
    assert urlsplit(tab.page.url).path == "/admin/login"
