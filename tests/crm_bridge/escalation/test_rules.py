"""The escalation rules as pure functions: the trigger decision (keywords first, then a very negative message
or two negative in a row), the wait estimate, and which agent speaks which language."""

from __future__ import annotations

import pytest

from crm_bridge.escalation.models import Reason
from crm_bridge.escalation.queue import estimated_wait, wait_minutes
from crm_bridge.escalation.roster import agent_name, speaks
from crm_bridge.escalation.triggers import decide
from crm_bridge.users.models import User

KEYWORDS = ["lawyer", "投诉"]
THRESHOLD = -0.7


@pytest.fixture(autouse=True)
def empty_floor() -> None:
    """No database here: replaces the package's autouse fixture that clears the floor."""


def _never() -> str | None:
    raise AssertionError("the previous message's label was not needed here")


@pytest.mark.parametrize(
    ("text", "label", "score", "previous", "expected"),
    [
        ("I will call my LAWYER", "positive", 0.9, None, Reason.keyword),  # keywords win over sentiment
        ("我要投诉", None, None, None, Reason.keyword),
        ("lawyers everywhere", "negative", -0.9, None, Reason.keyword),  # a substring is enough
        ("where is my parcel", "neutral", 0.0, "negative", None),
        ("this is awful", "negative", -0.7, None, Reason.negative_sentiment),  # at the threshold
        ("this is awful", "negative", -0.95, None, Reason.negative_sentiment),
        ("not great", "negative", -0.4, "negative", Reason.negative_sentiment),  # two in a row
        ("not great", "negative", -0.4, "neutral", None),
        ("not great", "negative", -0.4, None, None),  # the first customer message
        ("not great", "negative", None, "negative", Reason.negative_sentiment),  # unscored
        ("a very negative score", "positive", -0.9, "negative", None),  # the label decides, not the score
    ],
)
def test_decide(
    text: str, label: str | None, score: float | None, previous: str | None, expected: Reason | None
) -> None:
    assert decide(text, label, score, lambda: previous, keywords=KEYWORDS, threshold=THRESHOLD) is expected


def test_the_previous_label_is_asked_only_when_it_decides() -> None:
    assert (
        decide("lawyer!", "negative", -0.1, _never, keywords=KEYWORDS, threshold=THRESHOLD) is Reason.keyword
    )
    assert decide("ok", "positive", 0.5, _never, keywords=KEYWORDS, threshold=THRESHOLD) is None
    furious = decide("awful", "negative", -0.9, _never, keywords=KEYWORDS, threshold=THRESHOLD)
    assert furious is Reason.negative_sentiment


def test_no_keywords_configured() -> None:
    assert decide("lawyer", None, None, lambda: None, keywords=[], threshold=THRESHOLD) is None


@pytest.mark.parametrize(
    ("position", "agents", "handle", "seconds"),
    [(1, 1, 300, 300), (3, 2, 300, 450), (1, 3, 100, 34), (2, 0, 300, 600)],  # no agent counts as one
)
def test_estimated_wait(position: int, agents: int, handle: int, seconds: int) -> None:
    assert estimated_wait(position, agents, handle) == seconds


@pytest.mark.parametrize(("seconds", "minutes"), [(None, 1), (0, 1), (60, 1), (61, 2), (450, 8)])
def test_wait_minutes(seconds: int | None, minutes: int) -> None:
    assert wait_minutes(seconds) == minutes


def test_speaks_and_agent_name() -> None:
    anyone = User(username="any", languages=[], display_name=None)
    english = User(username="en-agent", languages=["en"], display_name="Ann")
    assert speaks(anyone, "zh") and speaks(english, "en") and speaks(english, None)
    assert not speaks(english, "zh")
    assert (agent_name(anyone), agent_name(english)) == ("any", "Ann")
