"""The widget's copy of the one language rule (crm_bridge/widget/static/lang.js) in headless Chromium,
against the cases file kefu_core/language.py is tested with, and against the Python rule itself on
generated texts (emails, ticket and phone numbers, "ok", Han and Latin letters, Unicode spaces, emoji)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from kefu_core.language import carries_language, detect_language
from tests.browser.conftest import ROOT

LANG_JS = ROOT / "crm_bridge" / "widget" / "static" / "lang.js"
CASES: dict[str, Any] = json.loads((ROOT / "tests" / "fixtures" / "language_cases.json").read_text())
PIECES = [
    "ok", "OK", "okay", "T-000123", "t-9", "T-", "alice@example.com", "bob.li+shop@mail.example.cn", "a@b.c",
    "+86", "138 0013 8000", "(10)", "-", "5", "2024", "/affirm", "/", "I", "a", "hi", "order", "Where",
    "退货", "我", "订单", "請", "。", "\u3000", "\u00a0", " ", "\t", "\n",
    "é", "ｏｋ", "５", "𠮷", "👍", "?", "!", "_",
]  # fmt: skip
JUDGE = """([detect, fallbacks, carries]) => ({
  detect: detect.map((text) => detectLanguage(text)),
  fallbacks: fallbacks.map(([text, fallback]) => detectLanguage(text, fallback)),
  carries: carries.map((text) => carriesLanguage(text)),
})"""


@pytest.fixture
def rule(browser: Browser) -> Iterator[Page]:
    """A blank page with lang.js loaded as a classic script (no server needed)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<!doctype html><title>lang.js</title>")
        page.add_script_tag(path=str(LANG_JS))
        yield page
    finally:
        context.close()


def judge(
    page: Page, detect: list[str], fallbacks: list[tuple[str, str]], carries: list[str]
) -> dict[str, list[Any]]:
    """What lang.js says about each text, in the browser."""
    return dict(page.evaluate(JUDGE, [detect, fallbacks, carries]))


def test_the_cases_file(rule: Page) -> None:
    got = judge(
        rule,
        [c["text"] for c in CASES["detect"]],
        [(c["text"], c["default"]) for c in CASES["default_without_letters"]],
        [c["text"] for c in CASES["carries"]],
    )
    assert got["detect"] == [c["language"] for c in CASES["detect"]]
    assert got["fallbacks"] == [c["language"] for c in CASES["default_without_letters"]]
    assert got["carries"] == [c["carries"] for c in CASES["carries"]]


def test_the_same_answers_as_python_on_generated_texts(rule: Page) -> None:
    rng = random.Random(20240611)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8))) for _ in range(1500)]
    texts += [" ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))) for _ in range(1500)]
    got = judge(rule, texts, [(t, "zh") for t in texts], texts)
    assert got["detect"] == [detect_language(t) for t in texts]
    assert got["fallbacks"] == [detect_language(t, default="zh") for t in texts]
    assert got["carries"] == [carries_language(t) for t in texts]
    # The generated texts reach both answers of each question (a constant rule would not pass).
    assert {"en", "zh"} <= set(got["detect"]) and {True, False} <= set(got["carries"])
