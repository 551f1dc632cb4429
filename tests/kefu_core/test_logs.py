"""Personal data out of logs: emails and phone numbers redacted, SQL errors without their parameters."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kefu_core import logs
from kefu_core.db import make_engine


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("mail me at wang.fang@example.com now", "mail me at [email] now"),
        ("call 138 0013 8000 or +86 138-0013-8000.", "call [phone] or [phone]."),
        ("phone (020) 7946 0958, thanks", "phone [phone], thanks"),
        ("13800138000", "[phone]"),
    ],
)
def test_emails_and_phone_numbers_are_redacted(raw: str, clean: str) -> None:
    assert logs.redact(raw) == clean


@pytest.mark.parametrize(
    "kept",
    [
        "ticket T-000044 due 2026-12-07 18:24:45",
        "POST /api/v1/chat status=200 took=1234.4ms id=3f2ab9c0e1",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "127.0.0.1:5005 answered 12.5 ms; amount 1,299.00",
        "contact 42 merged into 7",
    ],
)
def test_dates_times_ids_and_amounts_are_kept(kept: str) -> None:
    assert logs.redact(kept) == kept


def test_every_record_of_the_process_is_redacted_once_installed(caplog: pytest.LogCaptureFixture) -> None:
    logs.install_redaction()
    logs.install_redaction()  # idempotent: one wrapper, not two
    with caplog.at_level(logging.DEBUG, logger="any.library"):
        logging.getLogger("any.library").debug("user %s said %r", "li@example.com", "call 13912345678")
    assert caplog.messages == ["user [email] said 'call [phone]'"]
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING  # it logs URLs with queries


def test_sql_errors_do_not_show_bound_parameters(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE c (email TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO c VALUES (:e)"), {"e": "secret.person@example.com"})
    with pytest.raises(IntegrityError) as raised, engine.begin() as conn:
        conn.execute(text("INSERT INTO c VALUES (:e)"), {"e": "secret.person@example.com"})
    assert "secret.person" not in str(raised.value) and "hidden" in str(raised.value)
