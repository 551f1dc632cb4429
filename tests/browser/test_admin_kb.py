"""The knowledge-base admin pages in headless Chromium: access control, listing, editing, trying a
question, import/export and the unanswered inbox. Screenshots go to test-artifacts/pages/."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, AGENT, Server, Tab

XSS = "<script>alert(1)</script>"


def _new_entry(tab: Tab, question: str, variants: list[str], answer: str, status: str = "draft") -> str:
    """Create an entry through the form; its id (from the page it lands on)."""
    page = tab.page
    page.goto("/admin/kb/new")
    page.fill("#faq-question", question)
    page.fill("#faq-variants", "\n".join(variants))
    page.fill("#faq-answer", answer)
    page.select_option("#faq-language", "en")
    page.fill("#faq-category", "pages-test")
    page.select_option("#faq-status", status)
    page.click("#save")
    page.wait_for_url(re.compile(r"/admin/kb/[^/]+\?created=1$"))
    expect(page.locator("#edit-ok")).to_have_text("Entry created.")
    expect(page.locator("#faq-question")).to_have_value(question)
    return page.url.split("/admin/kb/")[1].split("?")[0]


def test_nobody_logged_in_is_redirected_to_login(tab: Tab) -> None:
    for path in ("/admin/kb", "/admin/kb/try", "/admin/kb/unanswered"):
        tab.page.goto(path)
        expect(tab.page).to_have_url(re.compile(r"/admin/login\?next=/admin/kb"))
        expect(tab.page.locator("h1")).to_have_text("Log in")
    tab.shot("login")


def test_wrong_password_shows_the_error(tab: Tab) -> None:
    page = tab.page
    page.goto("/admin/login")
    page.fill("#username", XSS)
    page.fill("#password", "not the password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("main button[type=submit]")
    assert answer.value.status == 401
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    expect(page.locator("#username")).to_have_value(XSS)  # re-shown escaped, not run
    page.fill("#username", ADMIN[0])
    page.fill("#password", "still wrong")
    page.click("main button[type=submit]")
    expect(page.locator("#login-error")).to_be_visible()
    assert tab.dialogs == []
    assert not any(c["name"] == "kefu_session" for c in tab.context.cookies())
    tab.shot("login-error")


def test_an_agent_gets_the_403_page(tab: Tab) -> None:
    tab.login(*AGENT)
    # An agent's login lands on the console, not on the knowledge base they may not curate.
    expect(tab.page).to_have_url(re.compile(r"/admin/agent$"))
    response = tab.page.goto("/admin/kb")
    assert response is not None and response.status == 403
    expect(tab.page.locator("h1")).to_have_text("403 · Forbidden")
    expect(tab.page.locator("#forbidden")).to_contain_text(AGENT[0])
    response = tab.page.goto("/admin/kb/import")
    assert response is not None and response.status == 403
    tab.shot("forbidden")


def test_admin_lists_and_filters_entries(admin: Tab) -> None:
    page = admin.page
    expect(page).to_have_url(re.compile(r"/admin/kb$"))
    rows = page.locator("#faq-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#faq-table")).to_contain_text("How do I cancel my order?")
    expect(page.locator("#list-summary")).to_contain_text("entries")
    page.select_option("#filter-language", "zh")
    expect(page).to_have_url(re.compile(r"language=zh"))
    expect(page.locator("#faq-table")).not_to_contain_text("How do I cancel my order?")
    languages = page.locator("#faq-table tbody tr td:nth-child(3)")
    expect(languages.first).to_have_text("zh")
    assert set(languages.all_inner_texts()) == {"zh"}
    admin.shot("list-zh")
    page.select_option("#filter-language", "")
    page.fill("#filter-q", "cancel my order")
    page.press("#filter-q", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-faq-id", "en-orders-01")


def test_create_publish_and_try_a_question(admin: Tab) -> None:
    page = admin.page
    tag = uuid.uuid4().hex[:6]
    variant = f"can my parrot {tag} ride along in the delivery van"
    faq_id = _new_entry(
        admin,
        question=f"Do couriers carry pets like parrot {tag}?",
        variants=[variant, f"pet parrot {tag} travelling with the courier"],
        answer="No: couriers carry parcels only.",
    )
    expect(page.locator("#faq-variants")).to_have_value(re.compile(re.escape(variant)))
    expect(page.locator("#version-label")).to_have_text("version 1 · draft")
    page.select_option("#faq-status", "published")
    page.click("#save")
    expect(page.locator("#edit-ok")).to_have_text("Saved: version 2 (published).")
    admin.shot("edit")

    page.goto("/admin/kb/try")
    page.fill("#try-q", variant)
    page.select_option("#try-lang", "en")
    page.click("#try-form button[type=submit]")
    first = page.locator("#try-table tbody tr").first
    expect(first).to_have_attribute("data-faq-id", faq_id)
    expect(first.locator("td.score")).to_have_text(re.compile(r"^(0|1)\.\d{3}$"))
    assert float(first.locator("td.score").inner_text()) > 0.5
    expect(page.locator("#try-decision")).to_have_text("answer")
    admin.shot("try")


def test_script_in_a_question_is_shown_as_text(admin: Tab) -> None:
    page = admin.page
    question = f"{XSS} why is my refund {uuid.uuid4().hex[:6]} late?"
    faq_id = _new_entry(admin, question, [f"{XSS} variant"], f"{XSS} answer", status="published")
    page.goto("/admin/kb?q=alert(1)")
    cell = page.locator(f"#faq-table tr[data-faq-id='{faq_id}'] td.question")
    expect(cell).to_have_text(question)
    assert page.locator("#faq-table script").count() == 0
    admin.shot("list-script-text")

    page.goto("/admin/kb/try")
    page.fill("#try-q", question)
    page.click("#try-form button[type=submit]")
    expect(page.locator("#try-table")).to_contain_text(XSS)

    # An id in the URL is rendered by the template (escaped) and shown as text.
    page.goto("/admin/kb/%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E")
    expect(page.locator("#faq-id-label")).to_have_text("<img src=x onerror=alert(2)>")
    expect(page.locator("#edit-error")).to_contain_text("not found")
    assert page.locator("main img").count() == 0
    assert admin.dialogs == []


def test_import_a_file_and_a_bad_file_changes_nothing(admin: Tab, tmp_path: Path) -> None:
    page = admin.page
    tag = uuid.uuid4().hex[:6]
    good = tmp_path / "good.jsonl"
    rows = [
        {
            "id": f"imp-{tag}-1",
            "question": f"Imported question one {tag}?",
            "answer": "One.",
            "language": "en",
        },
        {"id": f"imp-{tag}-2", "question": f"导入的问题二 {tag}？", "answer": "二。", "language": "zh"},
    ]
    good.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    page.goto("/admin/kb/import")
    page.set_input_files("#import-file", str(good))
    page.click("#import-button")
    # Re-indexing after an import takes a few seconds on a busy 2-core machine.
    expect(page.locator("#import-report")).to_have_text(
        "Imported 2 entries: 2 created, 0 updated.", timeout=30_000
    )
    expect(page.locator("#import-progress")).to_have_js_property("value", 100)
    admin.shot("import-ok")

    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": f"imp-{tag}-3", "question": "Fine row?", "answer": "Yes.", "language": "en"})
        + "\n"
        + json.dumps({"question": "Wrong language?", "answer": "Oui.", "language": "fr"})
        + "\n{not json\n",
        encoding="utf-8",
    )
    page.set_input_files("#import-file", str(bad))
    page.click("#import-button")
    expect(page.locator("#import-error-message")).to_have_text("2 bad row(s); nothing was imported")
    error_rows = page.locator("#import-error-table tbody tr")
    expect(error_rows).to_have_count(2)
    expect(error_rows.nth(0)).to_contain_text("language")
    expect(error_rows.nth(1)).to_contain_text("not valid JSON")
    expect(page.locator("#import-report")).to_be_hidden()
    admin.shot("import-bad")

    assert page.request.get(f"/api/v1/kb/faqs/imp-{tag}-1").status == 200
    assert page.request.get(f"/api/v1/kb/faqs/imp-{tag}-3").status == 404


def test_export_links_download(admin: Tab) -> None:
    page = admin.page
    page.goto("/admin/kb/import")
    with page.expect_download() as info:
        page.click("#export-jsonl")
    assert info.value.suggested_filename == "kefu-faqs.jsonl"
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert "en-orders-01" in {json.loads(line)["id"] for line in lines}
    with page.expect_download() as info:
        page.click("#export-csv")
    assert info.value.suggested_filename == "kefu-faqs.csv"
    assert Path(info.value.path()).read_text(encoding="utf-8").startswith("id,question")


def test_unanswered_inbox_add_as_variant(admin: Tab, service_api: httpx.Client, server: Server) -> None:
    page = admin.page
    question = f"do you rent out hot air balloons for weddings {uuid.uuid4().hex[:6]}"
    found = service_api.get("/api/v1/kb/search", params={"q": question, "lang": "en", "log": "true"})
    assert found.status_code == 200 and found.json()["decision"] == "none", found.text
    page.goto("/admin/kb/unanswered")
    group = page.locator("article.group", has_text=question)
    expect(group).to_have_count(1)
    expect(group.locator(".representative")).to_have_text(question)
    expect(group.locator(".count")).to_have_text("1 asked")
    admin.shot("unanswered")

    group.locator("input.faq-id-input").fill("en-orders-01")
    group.locator("form.add-variant button").click()
    expect(page.locator("#unanswered-ok")).to_have_text("Added 1 question(s) as variants of en-orders-01.")
    expect(page.locator("article.group", has_text=question)).to_have_count(0)
    entry = page.request.get("/api/v1/kb/faqs/en-orders-01").json()
    assert question in entry["variants"]


def test_unanswered_inbox_new_entry(admin: Tab, service_api: httpx.Client) -> None:
    page = admin.page
    question = f"can I book a tasting of your teas in the shop {uuid.uuid4().hex[:6]}"
    found = service_api.get("/api/v1/kb/search", params={"q": question, "lang": "en", "log": "true"})
    assert found.status_code == 200 and found.json()["decision"] == "none", found.text
    page.goto("/admin/kb/unanswered")
    group = page.locator("article.group", has_text=question)
    group.locator("summary").click()
    group.locator("form.new-entry textarea").fill("Yes: tastings are on Saturdays.")
    group.locator("form.new-entry select").select_option("published")
    group.locator("form.new-entry button").click()
    expect(page.locator("#unanswered-ok")).to_have_text(re.compile(r"^Created entry faq-\w+ \(published\)"))
    expect(page.locator("article.group", has_text=question)).to_have_count(0)
    faq_id = page.locator("#unanswered-ok").inner_text().split()[2]
    assert page.request.get(f"/api/v1/kb/faqs/{faq_id}").json()["question"] == question
