"""The text catalogues: one per language, the same keys and placeholders, English for an unknown language."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from kefu_core.language import LANGUAGES
from kefu_core.texts import CATALOGUES, en, say, when, zh


def _placeholders(text: str) -> set[str]:
    """The values a text needs: `{at:%H:%M}` and `{at.month}` both need `at` (format and attributes vary)."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(field.split(".", 1)[0].split("[", 1)[0])
    return names


def test_every_language_has_a_catalogue() -> None:
    assert set(CATALOGUES) == set(LANGUAGES)


def test_both_languages_have_the_same_keys() -> None:
    assert set(en.TEXTS) == set(zh.TEXTS)


@pytest.mark.parametrize("key", sorted(en.TEXTS))
def test_the_same_placeholders_per_key(key: str) -> None:
    assert _placeholders(en.TEXTS[key]) == _placeholders(zh.TEXTS[key])


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_is_empty(language: str) -> None:
    assert [key for key, text in CATALOGUES[language].items() if not text.strip()] == []


def test_placeholders_are_named() -> None:
    # A positional "{}" could not be filled by say(key, language, **values).
    for table in CATALOGUES.values():
        for key, text in table.items():
            assert "" not in _placeholders(text), key


def test_say_fills_in_the_values() -> None:
    assert say("queued", "en", position=2, minutes=5) == (
        "You are number 2 in the queue for an agent. Estimated wait: about 5 min."
    )
    assert (
        say("queued", "zh", position=2, minutes=5)
        == "您正在排队等待人工客服，目前排在第 2 位，预计等待约 5 分钟。"
    )
    at = datetime(2026, 11, 5, 14, 30, tzinfo=UTC)
    assert say("due_time", "en", at=at, zone="UTC+00:00") == "Thu 05 Nov, 14:30 (UTC+00:00)"
    assert say("due_time", "zh", at=at, zone="UTC+00:00") == "11月5日 14:30（UTC+00:00）"


@pytest.mark.parametrize("language", ["fr", "", None, "EN"])
def test_say_falls_back_to_english(language: str | None) -> None:
    assert say("handback", language) == en.TEXTS["handback"]
    assert say("assigned", language, agent="Li") == "Li has joined the chat."


def test_an_unknown_key_is_an_error() -> None:
    with pytest.raises(KeyError):
        say("no such text", "en")


def test_when_is_local_with_the_zone_name() -> None:
    at = datetime(2026, 11, 5, 6, 30, tzinfo=UTC)
    assert when(at, "Asia/Shanghai") == "2026-11-05 14:30 CST"
    assert when(at, "UTC") == "2026-11-05 06:30 UTC"
