"""The Zoho connector against the local fake of Zoho CRM's REST API."""

from __future__ import annotations

import logging
import uuid

import pytest

from crm_bridge.connectors.base import (
    ConnectorError,
    ContactPayload,
    CRMConnector,
    FeedbackPayload,
    TicketPayload,
)
from crm_bridge.connectors.zoho import PRIORITY, STATUS, ZohoConnector, ZohoSettings, split_name
from kefu.stack import free_port
from tests.crm_bridge.connectors.conftest import FakeClock
from tests.fakes.zoho_server import FakeZoho


def _email() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@example.com"


def _ticket(status: str = "new", priority: str = "normal") -> TicketPayload:
    return TicketPayload(
        number="T-000042",
        subject="Refund not received",
        description="Paid twice",
        status=status,
        priority=priority,
    )


def test_is_a_crm_connector(zoho: ZohoConnector) -> None:
    assert isinstance(zoho, CRMConnector)


def test_token_is_requested_once_and_cached_until_shortly_before_expiry(
    zoho: ZohoConnector, fake_zoho: FakeZoho, clock: FakeClock
) -> None:
    assert zoho.find_contact(email=_email()) is None
    assert zoho.find_contact(email=_email()) is None
    assert fake_zoho.token_calls == 1
    clock.advance(fake_zoho.expires_in - 10)  # 10 s of life left: still used
    zoho.find_contact(email=_email())
    assert fake_zoho.token_calls == 1
    clock.advance(5)  # 5 s left, inside the last tenth of its life: refreshed before it can expire mid-call
    zoho.find_contact(email=_email())
    assert fake_zoho.token_calls == 2
    zoho.find_contact(email=_email())
    assert fake_zoho.token_calls == 2


def test_api_calls_carry_the_zoho_oauthtoken_header(zoho: ZohoConnector, fake_zoho: FakeZoho) -> None:
    zoho.find_contact(email=_email())
    search = fake_zoho.api_calls("/Contacts/search")
    assert [c["status"] for c in search] == [204]
    assert set(fake_zoho.tokens)  # a token was issued and the call passed the fake's header check


def test_bad_refresh_token_is_a_non_retryable_auth_error(
    zoho_settings: ZohoSettings, fake_zoho: FakeZoho, caplog: pytest.LogCaptureFixture
) -> None:
    bad = zoho_settings.model_copy(update={"refresh_token": zoho_settings.client_secret.__class__("wrong")})
    connector = ZohoConnector(bad)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectorError) as err:
        connector.upsert_contact(ContactPayload(local_id="1", name="Ada", email=_email()))
    connector.close()
    assert err.value.retryable is False
    assert "invalid_code" in str(err.value)
    assert fake_zoho.client_secret not in str(err.value) + caplog.text
    assert fake_zoho.api_calls() == []


def test_401_refreshes_the_token_once_and_retries(zoho: ZohoConnector, fake_zoho: FakeZoho) -> None:
    first = zoho.upsert_contact(ContactPayload(local_id="1", name="Ada Lovelace", email=_email()))
    fake_zoho.expire_tokens()
    second = zoho.upsert_contact(ContactPayload(local_id="2", name="Alan Turing", email=_email()))
    assert first != second
    assert fake_zoho.token_calls == 2
    assert [c["status"] for c in fake_zoho.api_calls("/Contacts/upsert")] == [201, 401, 201]


def test_a_401_after_refreshing_is_not_retried_forever(zoho: ZohoConnector, fake_zoho: FakeZoho) -> None:
    fake_zoho.reject_tokens = True
    with pytest.raises(ConnectorError) as err:
        zoho.find_contact(email=_email())
    assert err.value.retryable is False
    assert "INVALID_TOKEN" in str(err.value)
    assert len(fake_zoho.api_calls()) == 2
    assert fake_zoho.token_calls == 2


def test_upsert_inserts_then_updates_the_same_record(zoho: ZohoConnector, fake_zoho: FakeZoho) -> None:
    email = _email()
    inserted = zoho.upsert_contact(ContactPayload(local_id="7", name="Ada King Lovelace", email=email))
    updated = zoho.upsert_contact(
        ContactPayload(local_id="7", name="Ada Lovelace", email=email, phone="+4479")
    )
    assert inserted == updated
    record = fake_zoho.records["Contacts"][inserted]
    assert (record["First_Name"], record["Last_Name"], record["Phone"]) == ("Ada", "Lovelace", "+4479")
    bodies = [c["json"] for c in fake_zoho.api_calls("/Contacts/upsert")]
    assert [b["duplicate_check_fields"] for b in bodies] == [["Email"], ["Email"]]
    assert [c["status"] for c in fake_zoho.api_calls("/Contacts/upsert")] == [201, 200]
    assert len(fake_zoho.records["Contacts"]) == 1


def test_contact_without_email_matches_on_phone_and_without_name_gets_unknown_last_name(
    zoho: ZohoConnector, fake_zoho: FakeZoho
) -> None:
    first = zoho.upsert_contact(ContactPayload(local_id="8", phone="+8613800000000"))
    again = zoho.upsert_contact(ContactPayload(local_id="8", phone="+8613800000000", name="王小明"))
    assert first == again
    body = fake_zoho.api_calls("/Contacts/upsert")[0]["json"]
    assert body["duplicate_check_fields"] == ["Phone"]
    assert body["data"][0] == {"Last_Name": "(unknown)", "Phone": "+8613800000000"}
    assert fake_zoho.records["Contacts"][first]["Last_Name"] == "王小明"
    assert split_name("  Grace   Brewster Hopper ") == ("Grace Brewster", "Hopper")


PHONE = "+447700900461"


def test_search_finds_by_email_or_phone_and_answers_none_on_204(
    zoho: ZohoConnector, fake_zoho: FakeZoho, caplog: pytest.LogCaptureFixture
) -> None:
    email = _email()
    with caplog.at_level(logging.DEBUG):
        assert zoho.find_contact(email=email) is None
        contact_id = zoho.upsert_contact(ContactPayload(local_id="9", name="Ada", email=email, phone=PHONE))
        assert zoho.find_contact(email=email.upper()) == contact_id
        assert zoho.find_contact(email=_email(), phone=PHONE) == contact_id
    searches = fake_zoho.api_calls("/Contacts/search")
    assert searches[1]["params"] == {"email": email.upper()}
    # The second email is unknown (204), so the phone is tried next.
    assert [(c["status"], list(c["params"])) for c in searches[2:]] == [(204, ["email"]), (200, ["phone"])]
    # No personal data in logs (checked without the "@" and "+", which URLs percent-encode; the number is
    # longer than any port, so a server's port in httpcore's debug lines cannot look like it).
    assert email.split("@")[0] not in caplog.text.lower() and PHONE[1:] not in caplog.text
    assert not any(token in caplog.text for token in fake_zoho.tokens)


def test_case_is_created_related_to_the_contact(zoho: ZohoConnector, fake_zoho: FakeZoho) -> None:
    contact_id = zoho.upsert_contact(ContactPayload(local_id="10", name="Ada", email=_email()))
    case_id = zoho.create_ticket(_ticket("new", "urgent"), contact_id)
    case = fake_zoho.records["Cases"][case_id]
    assert case["Related_To"] == {"id": contact_id}
    assert (case["Subject"], case["Status"], case["Priority"], case["Case_Origin"]) == (
        "Refund not received",
        "New",
        "High",
        "Chat",
    )
    assert "T-000042" in case["Description"]


@pytest.mark.parametrize(
    ("status", "priority", "zoho_status", "zoho_priority"),
    [
        ("new", "low", "New", "Low"),
        ("open", "normal", "Escalated", "Medium"),
        ("pending", "high", "On Hold", "High"),
        ("resolved", "urgent", "Closed", "High"),
        ("closed", "normal", "Closed", "Medium"),
    ],
)
def test_update_maps_status_and_priority(
    zoho: ZohoConnector, fake_zoho: FakeZoho, status: str, priority: str, zoho_status: str, zoho_priority: str
) -> None:
    case_id = zoho.create_ticket(_ticket(), None)
    zoho.update_ticket(case_id, _ticket(status, priority))
    case = fake_zoho.records["Cases"][case_id]
    assert (case["Status"], case["Priority"]) == (zoho_status, zoho_priority)
    assert (STATUS[status], PRIORITY[priority]) == (zoho_status, zoho_priority)


def test_unknown_related_contact_is_a_non_retryable_record_error(zoho: ZohoConnector) -> None:
    with pytest.raises(ConnectorError) as err:
        zoho.create_ticket(_ticket(), "4876876999999999999")
    assert err.value.retryable is False
    assert "INVALID_DATA (Related_To)" in str(err.value)
    with pytest.raises(ConnectorError) as missing:
        zoho.update_ticket("4876876999999999999", _ticket())
    assert missing.value.retryable is False


def test_feedback_is_a_note_on_the_contact(zoho: ZohoConnector, fake_zoho: FakeZoho) -> None:
    contact_id = zoho.upsert_contact(ContactPayload(local_id="11", name="Ada", email=_email()))
    feedback = FeedbackPayload(rating=4, nps=9, comment="Quick and kind", ticket_number="T-000042")
    note_id = zoho.write_feedback(feedback, contact_id)
    note = fake_zoho.records["Notes"][note_id]
    assert note["Note_Title"] == "CSAT 4/5"
    assert note["Parent_Id"] == {"module": {"api_name": "Contacts"}, "id": contact_id}
    assert all(part in note["Note_Content"] for part in ("4/5", "NPS: 9/10", "T-000042", "Quick and kind"))
    with pytest.raises(ConnectorError) as err:
        zoho.write_feedback(feedback, None)
    assert err.value.retryable is False


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False), (404, False)])
def test_http_errors_are_classified(
    zoho: ZohoConnector, fake_zoho: FakeZoho, status: int, retryable: bool
) -> None:
    email = _email()
    fake_zoho.fail_next(1, status)
    with pytest.raises(ConnectorError) as err:
        zoho.upsert_contact(ContactPayload(local_id="12", name="Ada", email=email))
    assert err.value.retryable is retryable
    assert f"HTTP {status}" in str(err.value) and email not in str(err.value)


def test_down_and_unreachable_are_retryable(
    zoho_settings: ZohoSettings, zoho: ZohoConnector, fake_zoho: FakeZoho
) -> None:
    fake_zoho.down = True
    with pytest.raises(ConnectorError) as down:
        zoho.find_contact(email=_email())
    assert down.value.retryable is True
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = ZohoConnector(
        zoho_settings.model_copy(update={"accounts_url": closed, "api_domain": closed})
    )
    with pytest.raises(ConnectorError) as refused:
        unreachable.find_contact(email=_email())
    unreachable.close()
    assert refused.value.retryable is True
    assert "ConnectError" in str(refused.value)
