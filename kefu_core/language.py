"""Which of kefu's two languages a text is in: the one rule every part uses.

The widget's JavaScript copy (`crm_bridge/widget/static/lang.js`) follows the same rule and is tested
against the same cases (`tests/fixtures/language_cases.json`).
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "zh")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]+")
# What reads the same in every language: emails, ticket and order numbers, phone numbers, digits, "ok".
_NEUTRAL = re.compile(r"[\w.%+-]+@[\w.-]+\.[A-Za-z]{2,}|[Tt]-\d+|[+\d][\d\s()-]*|ok\b", re.ASCII)
_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str, default: str = "en") -> str:
    """'zh' when Chinese characters carry the message, else 'en' (or `default` with no letters)."""
    han = len(_HAN.findall(text))
    latin_words = len(_LATIN.findall(text))
    if han == 0 and latin_words == 0:
        return default
    # A Chinese sentence with an English word ("我的order到哪了") is Chinese; one Han character
    # weighs about as much as one English word.
    return "zh" if han >= latin_words else "en"


def carries_language(text: str) -> bool:
    """Whether a message says anything about its language (an email, a phone number or "5" does not)."""
    if text.startswith("/"):  # a button payload: the customer clicked, they did not write
        return False
    if _HAN.search(text):
        return True
    return bool(_WORD.search(_NEUTRAL.sub(" ", text)))
