"""How the customer-message bench judges one message read by the bot (path, FAQ decision, sentiment)."""

from __future__ import annotations

from typing import Any

from kefu.bench_messages import _refusals, _tally, acted_on, judge, path_of

ORDER = {
    "intent": "ask_faq",
    "faq": {"decision": "answer", "expected_id": "en-orders-03", "also_accept": ["en-shipping-04"]},
    "sentiment": "negative",
}
PRAISE = {"intent": "thanks", "faq": None, "sentiment": "positive"}


def _search(decision: str, top: str | None) -> dict[str, Any]:
    return {"decision": decision, "results": [{"faq_id": top}] if top else []}


def test_the_faq_intents_share_one_path() -> None:
    assert {path_of(i) for i in ("ask_faq", "inform", "nlu_fallback")} == {"faq"}
    assert path_of("complain") == "complain"


def test_a_positive_complaint_is_acted_on_as_thanks() -> None:
    assert acted_on("complain", "positive") == "thanks"
    assert acted_on("complain", "negative") == "complain"
    assert judge(PRAISE, "complain", None, "positive")["all"] is True


def test_an_faq_message_needs_the_path_the_decision_and_an_accepted_entry() -> None:
    assert judge(ORDER, "ask_faq", _search("answer", "en-orders-03"), "negative")["all"] is True
    assert judge(ORDER, "nlu_fallback", _search("answer", "en-shipping-04"), "negative")["all"] is True
    wrong_entry = judge(ORDER, "ask_faq", _search("answer", "en-orders-04"), "negative")
    assert (wrong_entry["path"], wrong_entry["faq"], wrong_entry["all"]) == (True, False, False)
    assert judge(ORDER, "ask_faq", _search("clarify", "en-orders-03"), "negative")["faq"] is False
    assert judge(ORDER, "ask_faq", _search("answer", None), "negative")["faq"] is False
    off_path = judge(ORDER, "complain", None, "negative")
    assert (off_path["path"], off_path["faq"]) == (False, False)
    assert judge(ORDER, "ask_faq", _search("answer", "en-orders-03"), "neutral")["all"] is False


def test_tallies_and_refusals() -> None:
    cells = [("a", {"path": True, "faq": True, "sentiment": True, "all": True}),
             ("a", {"path": True, "faq": False, "sentiment": True, "all": False})]  # fmt: skip
    table = _tally(cells)["a"]
    assert (table["n"], table["accuracy"], table["faq_accuracy"]) == (2, 0.5, 0.5)
    assert table["sentiment_accuracy"] == 1.0
    assert _refusals([True, True, False]) == {"n": 3, "none": 2, "none_rate": 0.6667, "met": False}
    assert _refusals([])["none_rate"] is None
