"""Mirror CRM writes to the external CRM (Zoho) through the durable outbox, when one is configured.

The domains call it from their routes, after the domain write and before the commit, so the outbox item
is stored in the same transaction as the change it describes: nothing is lost while the external CRM is
down. It takes the connector payloads the domains build (contacts/crm.py, tickets/crm.py, feedback/crm.py)
and knows no domain model, so it sits below the domains that call it.
"""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy.orm import Session

from crm_bridge.connectors.base import ContactPayload, ErasePayload, FeedbackPayload, TicketPayload
from crm_bridge.connectors.zoho import ZohoSettings
from crm_bridge.outbox import service as outbox
from crm_bridge.outbox.models import Operation

CONNECTOR = "zoho"


def enabled() -> bool:
    """True when the Zoho credentials are set."""
    return _configured(*(os.environ.get(name) for name in _ZOHO_VARS))


_ZOHO_VARS = ("KEFU_ZOHO_CLIENT_ID", "KEFU_ZOHO_CLIENT_SECRET", "KEFU_ZOHO_REFRESH_TOKEN")


@lru_cache(maxsize=8)
def _configured(*_env: str | None) -> bool:
    # Keyed on the variables so a changed environment is seen; building settings on every write is not free.
    return ZohoSettings().configured


def queue(
    session: Session,
    operation: Operation,
    payload: ContactPayload | TicketPayload | FeedbackPayload | ErasePayload,
    *,
    contact: ContactPayload | None = None,
) -> None:
    """Queue one write for the external CRM; callers check enabled() first, before they look anything up."""
    outbox.enqueue(session, connector=CONNECTOR, operation=operation, payload=payload, contact=contact)
