"""Connectors that mirror kefu's contacts, tickets and feedback into a CRM (kefu's SQL or an external one)."""

from crm_bridge.connectors.base import (
    ConnectorError,
    ContactPayload,
    CRMConnector,
    FeedbackPayload,
    TicketPayload,
)

__all__ = ["CRMConnector", "ConnectorError", "ContactPayload", "FeedbackPayload", "TicketPayload"]
