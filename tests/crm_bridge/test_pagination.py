"""The paged form of a statement is made once per statement object and freed with it."""

from __future__ import annotations

import gc

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm_bridge.contacts import service
from crm_bridge.contacts.models import Contact
from crm_bridge.pagination import _PAGED, _paged
from crm_bridge.tickets.models import Ticket


def test_a_reused_statement_keeps_one_paged_form() -> None:
    first, values = service.search_query(None, email="A@Example.com ")
    again, _ = service.search_query(None, email="b@example.com")
    assert first is again
    assert values == {"email": "a@example.com"}
    assert _paged(first) is _paged(again)


def test_statements_built_per_request_do_not_accumulate() -> None:
    gc.collect()
    before = len(_PAGED)
    for i in range(200):
        _paged(select(Ticket).where(Ticket.id > i).order_by(Ticket.id.desc()))
        _paged(select(Contact).options(joinedload(Contact.identities)).where(Contact.id > i))
    gc.collect()
    assert len(_PAGED) == before
