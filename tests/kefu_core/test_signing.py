"""Ids signed for the actions: only crm_bridge's key, for this sender and these ids, verifies."""

from __future__ import annotations

from kefu_core.signing import FIELD, sign_ids, verified, with_signature

KEY = "service-token-for-tests"
IDS = {"conversation_id": "conv-1", "contact_id": 42, "language": "en"}


def test_a_signed_message_verifies_for_its_sender() -> None:
    signed = with_signature(KEY, "conv-1", IDS)
    assert signed[FIELD] == sign_ids(KEY, "conv-1", IDS)
    assert verified(KEY, "conv-1", signed)
    assert {k: v for k, v in signed.items() if k != FIELD} == IDS  # nothing else changed


def test_changing_an_id_the_sender_or_the_key_breaks_it() -> None:
    signed = with_signature(KEY, "conv-1", IDS)
    assert not verified(KEY, "conv-1", {**signed, "contact_id": 43})
    assert not verified(KEY, "conv-1", {**signed, "conversation_id": "conv-2"})
    assert not verified(KEY, "conv-2", signed)  # another conversation replaying it
    assert not verified("another-key", "conv-1", signed)


def test_fields_outside_the_ids_may_change() -> None:
    signed = with_signature(KEY, "conv-1", IDS)
    assert verified(KEY, "conv-1", {**signed, "language": "zh", "sentiment": "negative"})


def test_unsigned_forged_or_keyless_metadata_never_verifies() -> None:
    assert not verified(KEY, "conv-1", IDS)
    assert not verified(KEY, "conv-1", {**IDS, FIELD: "0" * 64})
    assert not verified(KEY, "conv-1", {**IDS, FIELD: 12345})
    assert not verified(KEY, "conv-1", None)
    assert not verified("", "conv-1", with_signature("", "conv-1", IDS))
    assert FIELD not in with_signature("", "conv-1", IDS)  # no key: nothing to sign with


def test_a_missing_id_is_signed_as_missing() -> None:
    anonymous = {"conversation_id": "conv-1", "contact_id": None}
    signed = with_signature(KEY, "conv-1", anonymous)
    assert verified(KEY, "conv-1", signed)
    assert not verified(KEY, "conv-1", {**signed, "contact_id": 7})
