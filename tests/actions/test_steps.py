"""The steps actions share: the one yes/no parser (checked against the three it replaced), offers, tickets."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.contact import ValidateContactForm
from actions.feedback import ValidateFeedbackForm
from actions.steps import (
    NO,
    YES,
    offer_events,
    offer_is_fresh,
    said_no,
    said_yes,
    subject_from,
    tell_outcome,
    yes_or_no,
)
from actions.tickets import NONE, ValidateTicketForm
from tests.actions.conftest import tracker

# The regexes the contact, ticket and feedback forms had before they shared one parser (kept verbatim):
# whatever any of them accepted must still be read the same way.
OLD_CONTACT_YES = re.compile(
    r"^\s*(y|yes|yeah|yep|ok|okay|sure|correct|right|是|是的|对|好|好的|确认|确定|可以|没错)\s*[.!。！]?\s*$",
    re.I,
)
OLD_CONTACT_NO = re.compile(
    r"^\s*(n|no|nope|cancel|wrong|不|不是|不对|取消|错了|算了|不用了?)\s*[.!。！]?\s*$", re.I
)
OLD_TICKET_NO = re.compile(r"^\s*(no+|nope|none|n/?a|nah|没有?|无|不用了?|没有订单号?)\s*[.!。！]?\s*$", re.I)
OLD_FEEDBACK_NO = re.compile(
    r"^\s*(no+|nope|none|nothing|skip|没有?|没有了|无|不用了?|跳过)\s*[.!。！]?\s*$", re.I
)
OLD_NO = (OLD_CONTACT_NO, OLD_TICKET_NO, OLD_FEEDBACK_NO)

REPLIES: list[tuple[str, str | None]] = [
    # Every word the old "yes" regex knew, then more.
    *[(w, YES) for w in ("y", "yes", "yeah", "yep", "ok", "okay", "sure", "correct", "right")],
    *[(w, YES) for w in ("是", "是的", "对", "好", "好的", "确认", "确定", "可以", "没错")],
    ("YES", YES),
    ("  Okay!  ", YES),
    ("好的。", YES),
    ("可以！", YES),
    ("yes please", YES),
    ("ok, thanks", YES),
    ("好的，谢谢", YES),
    ("yup", YES),
    ("没问题", YES),
    ("行", YES),
    # Every word the three old "no" regexes knew, then more.
    *[(w, NO) for w in ("n", "no", "noo", "nope", "nah", "n/a", "na", "none", "nothing", "cancel", "wrong")],
    *[(w, NO) for w in ("skip", "不", "不是", "不对", "取消", "错了", "算了", "不用", "不用了")],
    *[(w, NO) for w in ("没", "没有", "没有了", "无", "跳过", "没有订单", "没有订单号")],
    ("NO.", NO),
    ("  nope!  ", NO),
    ("不用了。", NO),
    ("no thanks", NO),
    ("No, thank you", NO),
    ("不要", NO),
    ("不要了", NO),
    ("不需要", NO),
    ("不用了谢谢", NO),
    ("不用了，谢谢！", NO),
    ("never mind", NO),
    ("no need", NO),
    # Not an answer: a sentence, a value, or a word that only starts like one.
    ("maybe later?", None),
    ("not sure", None),
    ("nobody told me", None),
    ("know", None),
    ("yesterday", None),
    ("20261105", None),
    ("me@example.com", None),
    ("不好意思", None),
    ("没收到货", None),
    ("好不好", None),
    ("yes no", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), REPLIES)
def test_yes_or_no(text: str, expected: str | None) -> None:
    assert yes_or_no(text) == expected


@pytest.mark.parametrize(("text", "expected"), REPLIES)
def test_what_the_old_regexes_accepted_is_read_the_same_way(text: str, expected: str | None) -> None:
    if OLD_CONTACT_YES.match(text):
        assert yes_or_no(text) == YES
    if any(old.match(text) for old in OLD_NO):
        assert yes_or_no(text) == NO


def test_the_table_covers_every_old_word() -> None:
    words = {text for text, _ in REPLIES}
    for old in (OLD_CONTACT_YES, *OLD_NO):
        alternatives = old.pattern.split("(", 1)[1].split(")", 1)[0].split("|")
        # "no+" / "n/?a" / "不用了?" are patterns: the table spells out their cases.
        plain = [a for a in alternatives if not set(a) & set("+?/")]
        assert not [a for a in plain if a not in words], old.pattern


def test_the_intent_decides_first() -> None:
    assert said_no(tracker("/deny", "deny"), "/deny")
    assert said_no(tracker("不用", "deny", language="zh"), "anything")
    assert said_yes(tracker("/affirm", "affirm"), "/affirm")
    assert not said_no(tracker("yes", "affirm"), "yes")
    assert not said_yes(tracker("maybe", "ask_faq"), "maybe")
    assert said_no(tracker("no thanks"), "no thanks")
    assert said_yes(tracker("好的", language="zh"), "好的")


@pytest.mark.parametrize("text", ["no thanks", "不要", "不用了谢谢", "none", "跳过", "cancel"])
def test_every_form_reads_a_no_alike(text: str) -> None:
    t = tracker(text)
    contact = ValidateContactForm().validate_new_contact_detail(text, CollectingDispatcher(), t, {})
    assert contact["confirm_contact_update"] == NO
    assert ValidateContactForm().validate_confirm_contact_update(text, CollectingDispatcher(), t, {}) == {
        "confirm_contact_update": NO
    }
    ticket = ValidateTicketForm()
    assert ticket.validate_contact_detail(text, CollectingDispatcher(), t, {}) == {"contact_detail": NONE}
    assert ticket.validate_order_number(text, CollectingDispatcher(), t, {}) == {"order_number": NONE}
    feedback = ValidateFeedbackForm()
    assert feedback.validate_rating(text, CollectingDispatcher(), t, {})["rating"] == "skip"
    assert feedback.validate_feedback_comment(text, CollectingDispatcher(), t, {}) == {
        "feedback_comment": "none"
    }


def test_an_offer_is_fresh_only_in_the_next_turn() -> None:
    offered = [{"event": "user", "text": "earlier"}, *offer_events("human", "complaint")]
    assert offer_is_fresh(tracker("yes", "affirm", events=offered))
    later = [*offered, {"event": "user", "text": "something else"}]
    assert not offer_is_fresh(tracker("yes", "affirm", events=later))
    assert not offer_is_fresh(tracker("yes", "affirm"))


def test_subject_from() -> None:
    assert subject_from("  my   mug\nbroke ", "Support request") == "my mug broke"
    assert subject_from("   ", "Support request") == "Support request"
    long = subject_from("x" * 500, "Support request")
    assert len(long) == 120 and long.endswith("…")


def test_unknown_values_in_an_outcome_are_marked() -> None:
    dispatcher = CollectingDispatcher()
    tell_outcome(dispatcher, {"outcome": "queued"}, "zh")
    tell_outcome(dispatcher, {"outcome": "offline"}, "en")
    assert dispatcher.messages[0]["wait_minutes"] == "?"
    assert dispatcher.messages[0]["queue_position"] == 1
    assert (dispatcher.messages[1]["ticket_number"], dispatcher.messages[1]["reply_by"]) == ("—", "—")
