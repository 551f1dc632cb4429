"""action_answer_faq and the fallback chain, against the real knowledge base in crm_bridge."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CrmBridgeClient, use_client
from actions.faq import ActionAnswerFaq
from kefu.stack import free_port
from knowledge_base.service import SEED_FILE
from tests.actions.conftest import responses, slots_set, tracker

SEED = {row["id"]: row for row in map(json.loads, SEED_FILE.read_text(encoding="utf-8").splitlines()) if row}
NONSENSE = "What is the airspeed velocity of an unladen swallow in a vacuum chamber?"
FAQ_TURN = [{"event": "action", "name": "action_answer_faq"}, {"event": "action", "name": "action_listen"}]


def _run(t: Any) -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = ActionAnswerFaq().run(dispatcher, t, {})
    return dispatcher, slots_set(events)


def test_a_known_question_is_answered(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    dispatcher, slots = _run(tracker("How long does delivery take?", "ask_faq", chat=chat))
    assert [m["text"] for m in dispatcher.messages] == [SEED["en-shipping-01"]["answer"]]
    assert slots == {"fallback_misses": 0}


def test_a_chinese_question_is_answered_in_chinese(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    dispatcher, _ = _run(tracker("退货需要多久?", "ask_faq", chat=chat, language="zh"))
    assert dispatcher.messages[0]["text"] == SEED["zh-returns-01"]["answer"]


def test_first_miss_asks_with_suggestions_second_offers_a_way_out(
    crm: CrmBridgeClient, chat: dict[str, Any]
) -> None:
    dispatcher, slots = _run(tracker(NONSENSE, "nlu_fallback", chat=chat))
    assert responses(dispatcher) == ["utter_faq_none_suggest"]
    assert slots == {"fallback_misses": 1}

    # The bot's previous action was this one and it missed once: the second miss offers a human or a ticket.
    second = tracker(NONSENSE, "nlu_fallback", chat=chat, slots={"fallback_misses": 1.0}, events=FAQ_TURN)
    dispatcher, slots = _run(second)
    assert responses(dispatcher) == ["utter_offer_human_or_ticket"]
    assert slots == {"fallback_misses": 0, "pending_offer": "human_or_ticket", "handoff_reason": "fallback"}


def test_misses_count_only_in_a_row(crm: CrmBridgeClient, chat: dict[str, Any]) -> None:
    greeted = [{"event": "action", "name": "utter_greet"}, {"event": "action", "name": "action_listen"}]
    t = tracker(NONSENSE, "nlu_fallback", chat=chat, slots={"fallback_misses": 1.0}, events=greeted)
    dispatcher, slots = _run(t)
    assert responses(dispatcher) == ["utter_faq_none_suggest"]
    assert slots == {"fallback_misses": 1}


def test_negative_sentiment_gets_empathy_and_the_offer_of_a_human(
    crm: CrmBridgeClient, chat: dict[str, Any]
) -> None:
    t = tracker("How long does delivery take?", "ask_faq", chat=chat, slots={"sentiment": "negative"})
    dispatcher, slots = _run(t)
    assert responses(dispatcher) == ["utter_empathy", None, "utter_offer_human"]
    assert slots["pending_offer"] == "human"
    assert slots["handoff_reason"] == "negative_sentiment"


def test_knowledge_base_down_is_a_polite_reply() -> None:
    use_client(CrmBridgeClient(base_url=f"http://127.0.0.1:{free_port()}", token="x", timeout_s=1))
    try:
        dispatcher, slots = _run(tracker("How long does delivery take?", "ask_faq"))
    finally:
        use_client(None)
    assert responses(dispatcher) == ["utter_kb_unavailable"]
    assert slots == {}
