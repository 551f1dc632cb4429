"""Connectors that mirror kefu's contacts, tickets and feedback into a CRM: the protocol and payloads, and
Zoho CRM. They import no domain (the domains' write-through imports them); the connector over kefu's own
tables, which calls the domains' services, is crm_bridge.sql_connector."""

from crm_bridge.connectors.base import (
    ConnectorError,
    ContactPayload,
    CRMConnector,
    FeedbackPayload,
    TicketPayload,
)

__all__ = ["CRMConnector", "ConnectorError", "ContactPayload", "FeedbackPayload", "TicketPayload"]
