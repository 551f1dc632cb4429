"""The CRMConnector protocol and the plain payloads every connector takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable


class ConnectorError(Exception):
    """A CRM call failed; `retryable` says whether trying again later can help.

    The message must never contain personal data or secrets: the outbox stores it and the CLI shows it.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class ContactPayload:
    """A kefu contact as a CRM sees it; `local_id` is kefu's contact id as a string."""

    local_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    tier: str = "standard"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the outbox stores it)."""
        return asdict(self)


@dataclass(frozen=True)
class TicketPayload:
    """A kefu ticket; `number` (T-000123) is its local id."""

    number: str
    subject: str
    description: str = ""
    status: str = "new"
    priority: str = "normal"
    contact_local_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the outbox stores it)."""
        return asdict(self)


@dataclass(frozen=True)
class FeedbackPayload:
    """A customer rating; `local_id` (kefu's feedback id) lets the outbox remember what was written."""

    rating: int
    nps: int | None = None
    comment: str | None = None
    contact_local_id: str | None = None
    ticket_number: str | None = None
    local_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the outbox stores it)."""
        return asdict(self)


@dataclass(frozen=True)
class ErasePayload:
    """A contact erased in kefu (PIPL / GDPR): the CRM must delete its records, named by kefu's local ids
    (the outbox finds the CRM's ids when it delivers, so records created meanwhile are found too)."""

    contact_local_id: str
    ticket_numbers: tuple[str, ...] = ()
    feedback_local_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the outbox stores it)."""
        return {
            "contact_local_id": self.contact_local_id,
            "ticket_numbers": list(self.ticket_numbers),
            "feedback_local_ids": list(self.feedback_local_ids),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErasePayload:
        """The payload back from its stored form."""
        return cls(
            contact_local_id=str(data["contact_local_id"]),
            ticket_numbers=tuple(str(n) for n in data.get("ticket_numbers") or ()),
            feedback_local_ids=tuple(str(n) for n in data.get("feedback_local_ids") or ()),
        )


@runtime_checkable
class CRMConnector(Protocol):
    """What kefu needs from a CRM. Ids are the CRM's own ids, as strings."""

    def find_contact(self, *, email: str | None = None, phone: str | None = None) -> str | None:
        """The id of the contact with this email (or, failing that, phone), or None."""
        ...

    def upsert_contact(self, contact: ContactPayload) -> str:
        """Create the contact or update the matching one; its id."""
        ...

    def create_ticket(self, ticket: TicketPayload, contact_external_id: str | None) -> str:
        """Create the ticket, linked to the contact when given; its id."""
        ...

    def update_ticket(self, external_id: str, ticket: TicketPayload) -> None:
        """Bring the CRM's ticket `external_id` up to date with `ticket`."""
        ...

    def write_feedback(self, feedback: FeedbackPayload, contact_external_id: str | None) -> str:
        """Record the rating (on the contact when given); the id of what was written."""
        ...

    def erase_contact(
        self,
        contact_external_id: str | None,
        *,
        ticket_external_ids: Sequence[str] = (),
        feedback_external_ids: Sequence[str] = (),
    ) -> None:
        """Delete the contact and the tickets and feedback written for it; records already gone are fine."""
        ...
