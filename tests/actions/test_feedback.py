"""Feedback at the end of a conversation: rating, comment, stored through POST /api/v1/feedback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CrmBridgeClient
from actions.feedback import ActionSubmitFeedback, ValidateFeedbackForm, parse_rating
from tests.actions.conftest import responses, slots_set, tracker


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("4 stars", 4),
        ("给3分", 3),
        ("五星", 5),
        ("1", 1),
        ("10", None),
        ("great", None),
        ("0", None),
    ],
)
def test_parse_rating(text: str, rating: int | None) -> None:
    assert parse_rating(text) == rating


def _validate_rating(text: str, intent: str = "", events: list[dict[str, Any]] | None = None) -> Any:
    dispatcher = CollectingDispatcher()
    result = ValidateFeedbackForm().validate_rating(
        text, dispatcher, tracker(text, intent, events=events), {}
    )
    return result, responses(dispatcher)


def test_rating_validation_never_loops() -> None:
    assert _validate_rating("4") == ({"rating": "4"}, [])
    assert _validate_rating("/deny", "deny") == ({"rating": "skip", "feedback_comment": "skip"}, [])
    assert _validate_rating("what?") == ({"rating": None}, ["utter_invalid_rating"])
    # Not understood twice in a row: the form lets go instead of asking forever.
    asked = [{"event": "bot", "text": "Please pick…", "metadata": {"utter_action": "utter_invalid_rating"}}]
    assert _validate_rating("what?", events=asked) == ({"rating": "skip", "feedback_comment": "skip"}, [])


def test_comment_validation() -> None:
    validate = ValidateFeedbackForm().validate_feedback_comment
    assert validate("没有", CollectingDispatcher(), tracker("没有", language="zh"), {}) == {
        "feedback_comment": "none"
    }
    assert validate("Fast, thanks", CollectingDispatcher(), tracker("Fast, thanks"), {}) == {
        "feedback_comment": "Fast, thanks"
    }


def test_feedback_is_stored(
    crm: CrmBridgeClient, chat: dict[str, Any], service: TestClient, staff: TestClient
) -> None:
    slots = {"rating": "4", "feedback_comment": "Quick answers"}
    dispatcher = CollectingDispatcher()
    events = ActionSubmitFeedback().run(dispatcher, tracker("Quick answers", chat=chat, slots=slots), {})
    assert responses(dispatcher) == ["utter_feedback_thanks", "utter_goodbye"]
    assert slots_set(events) == {"rating": None, "feedback_comment": None}
    stored = staff.get("/api/v1/feedback", params={"contact_id": chat["contact_id"]}).json()["items"]
    assert [(f["rating"], f["comment"], f["conversation_id"]) for f in stored] == [
        (4, "Quick answers", chat["conversation_id"])
    ]


def test_skipped_feedback_stores_nothing(
    crm: CrmBridgeClient,
    chat: dict[str, Any],
    service: TestClient,
    staff: TestClient,
) -> None:
    dispatcher = CollectingDispatcher()
    slots = {"rating": "skip", "feedback_comment": "skip"}
    ActionSubmitFeedback().run(dispatcher, tracker("no", "deny", chat=chat, slots=slots), {})
    assert responses(dispatcher) == ["utter_goodbye"]
    assert staff.get("/api/v1/feedback", params={"contact_id": chat["contact_id"]}).json()["total"] == 0
