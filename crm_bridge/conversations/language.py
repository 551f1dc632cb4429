"""Cheap language identification for the two languages kefu speaks."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]+")


def detect_language(text: str, default: str = "en") -> str:
    """'zh' when Chinese characters carry the message, else 'en' (or `default` with no letters)."""
    han = len(_HAN.findall(text))
    latin_words = len(_LATIN.findall(text))
    if han == 0 and latin_words == 0:
        return default
    # A Chinese sentence with an English word ("我的order到哪了") is Chinese; one Han character
    # weighs about as much as one English word.
    return "zh" if han >= latin_words else "en"
