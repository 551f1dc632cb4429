"""Helpers every action uses: due times as the customer reads them."""

from __future__ import annotations

import pytest

from actions.common import contact_id_of, local_time, metadata_value
from tests.actions.conftest import tracker
from tests.helpers import kefu_env


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Thu 05 Nov, 14:30 (UTC+08:00)"), ("zh", "11月5日 14:30（UTC+08:00）"), ("fr", None)],
)
def test_local_time_in_the_shops_zone_and_the_customers_language(language: str, expected: str | None) -> None:
    with kefu_env(KEFU_TIMEZONE="Asia/Shanghai"):
        told = local_time("2026-11-05T06:30:00Z", language)
    assert told == (expected or "Thu 05 Nov, 14:30 (UTC+08:00)")  # an unknown language reads English


def test_local_time_without_a_time() -> None:
    assert local_time(None, "en") == local_time("", "zh") == "—"


def test_local_time_defaults_to_utc() -> None:
    with kefu_env(KEFU_TIMEZONE="UTC"):
        assert local_time("2026-01-02T03:04:00+00:00", "en") == "Fri 02 Jan, 03:04 (UTC+00:00)"


def test_ids_come_only_from_crm_bridges_signed_metadata() -> None:
    chat = {"conversation_id": "conv-7", "contact_id": 7}
    signed = tracker("hello", "greet", chat=chat, sender="conv-7")
    assert contact_id_of(signed) == 7
    assert metadata_value(signed, "conversation_id") == "conv-7"


def test_a_customer_set_slot_or_forged_metadata_is_not_acted_on() -> None:
    # `/check_ticket_status{"contact_id": "9"}` from a customer fills the slot; the signature covers only 7.
    chat = {"conversation_id": "conv-7", "contact_id": 7}
    slot_forged = tracker("/check_ticket_status", "check_ticket_status", chat=chat, slots={"contact_id": "9"})
    assert contact_id_of(slot_forged) == 7
    forged = tracker("hi", "greet", chat=chat)
    forged.latest_message["metadata"]["contact_id"] = 9  # posted straight to Rasa, re-using a signature
    assert contact_id_of(forged) is None and metadata_value(forged, "conversation_id") is None
    unsigned = tracker("hi", "greet", chat=chat)
    del unsigned.latest_message["metadata"]["ids_signature"]
    assert contact_id_of(unsigned) is None


def test_a_signature_for_another_conversation_is_refused() -> None:
    chat = {"conversation_id": "conv-7", "contact_id": 7}
    replayed = tracker("hi", "greet", chat=chat, sender="conv-7")
    other = tracker("hi", "greet", sender="conv-8")
    other.latest_message["metadata"] = replayed.latest_message["metadata"]
    assert contact_id_of(other) is None
