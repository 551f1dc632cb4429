"""The built-in connector: kefu's own database, which is the source of truth for CRM records.

It calls the contacts, tickets and feedback services, so it sits above them, outside connectors/: the
domains' write-through (crm_bridge.sync) imports connectors/, which therefore imports no domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.connectors.base import ConnectorError, ContactPayload, FeedbackPayload, TicketPayload
from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.feedback import service as feedback_service
from crm_bridge.feedback.models import Feedback
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.models import Ticket, format_number, parse_number
from kefu_core.errors import DomainError


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class SqlConnector:
    """CRMConnector over kefu's tables; works in the caller's transaction (flushes, never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_contact(self, *, email: str | None = None, phone: str | None = None) -> str | None:
        """The id of the live (not merged, not erased) contact with this email, else this phone."""
        live = select(Contact.id).where(Contact.merged_into_id.is_(None), Contact.erased_at.is_(None))
        if email:
            found = self.session.scalars(
                live.where(func.lower(Contact.email) == email.strip().lower()).order_by(Contact.id)
            ).first()
            if found is not None:
                return str(found)
        if phone:
            found = self.session.scalars(
                live.where(Contact.phone == phone.strip()).order_by(Contact.id)
            ).first()
            if found is not None:
                return str(found)
        return None

    def upsert_contact(self, contact: ContactPayload) -> str:
        """Update the contact with this local id (or the one matching its email/phone), else create it."""
        changes = {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "preferred_language": contact.language,
            "tier": Tier(contact.tier),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        local_id = _int(contact.local_id) or _int(self.find_contact(email=contact.email, phone=contact.phone))
        existing = self.session.get(Contact, local_id) if local_id is not None else None
        try:
            if existing is None:
                return str(contacts.create(self.session, data=changes).id)
            contacts.update_fields(self.session, contact=existing, changes=changes)
        except DomainError as exc:
            raise ConnectorError(f"contact upsert refused: {exc.code}", retryable=False) from exc
        return str(existing.id)

    def create_ticket(self, ticket: TicketPayload, contact_external_id: str | None) -> str:
        """The ticket's number: it already exists when kefu created it; otherwise it is created now."""
        ticket_id = parse_number(ticket.number)
        if ticket_id is not None and self.session.get(Ticket, ticket_id) is not None:
            return format_number(ticket_id)
        data = {
            "subject": ticket.subject,
            "description": ticket.description,
            "priority": ticket.priority,
            "contact_id": _int(contact_external_id),
        }
        try:
            created, _ = tickets.create(self.session, data=data)
        except DomainError as exc:
            raise ConnectorError(f"ticket create refused: {exc.code}", retryable=False) from exc
        self.session.flush()
        return created.number

    def update_ticket(self, external_id: str, ticket: TicketPayload) -> None:
        """Apply status, priority and subject through the ticket workflow."""
        try:
            found = tickets.get_or_raise(self.session, external_id)
            wanted = {"status": ticket.status, "priority": ticket.priority, "subject": ticket.subject}
            # Only what differs: a closed ticket refuses any change, even a no-op one.
            changes = {key: value for key, value in wanted.items() if getattr(found, key) != value}
            tickets.update(self.session, found, changes, author_id=None)
        except DomainError as exc:
            raise ConnectorError(f"ticket update refused: {exc.code}", retryable=False) from exc

    def write_feedback(self, feedback: FeedbackPayload, contact_external_id: str | None) -> str:
        """The feedback id: kefu's own row when it exists, otherwise a new row."""
        local_id = _int(feedback.local_id)
        if local_id is not None and self.session.get(Feedback, local_id) is not None:
            return str(local_id)
        data = {
            "rating": feedback.rating,
            "nps": feedback.nps,
            "comment": feedback.comment,
            "ticket_number": feedback.ticket_number,
            "contact_id": _int(contact_external_id),
        }
        try:
            return str(feedback_service.create(self.session, data=data).id)
        except DomainError as exc:
            raise ConnectorError(f"feedback refused: {exc.code}", retryable=False) from exc

    def erase_contact(
        self,
        contact_external_id: str | None,
        *,
        ticket_external_ids: Sequence[str] = (),
        feedback_external_ids: Sequence[str] = (),
    ) -> None:
        """Nothing to do: these records are kefu's own, which the erasure itself anonymised."""
