"""Contact database work (no HTTP): identities, search, merge, export and erasure.

Contacts sit below tickets and feedback and import neither: what spans them is in feedback/flows.py.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from crm_bridge.contacts.models import Contact, ContactIdentity
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from kefu_core.db import utcnow
from kefu_core.errors import Conflict, Invalid, NotFound

ERASED = "[erased]"


def resolve_identity(session: Session, *, channel: str, external_id: str, language: str | None) -> Contact:
    """The contact behind a channel identity, created on first contact."""
    stmt = select(ContactIdentity).where(
        ContactIdentity.channel == channel, ContactIdentity.external_id == external_id
    )
    identity = session.scalars(stmt).first()
    if identity is not None:
        return identity.contact
    contact = Contact(preferred_language=language)
    try:
        with session.begin_nested():
            session.add(contact)
            session.add(ContactIdentity(contact=contact, channel=channel, external_id=external_id))
    except IntegrityError:
        # Two first messages raced; the other request created the identity.
        identity = session.scalars(stmt).one()
        return identity.contact
    return contact


def get_or_raise(session: Session, contact_id: int) -> Contact:
    """The contact with this id, or NotFound."""
    # Joined: one round trip with the identities (lookups by id run in autocommit, statement by statement).
    contact = session.get(Contact, contact_id, options=[joinedload(Contact.identities)])
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


def create(session: Session, *, data: dict[str, Any]) -> Contact:
    """A new contact from validated fields."""
    contact = Contact(**{k: v for k, v in data.items() if v is not None})
    if contact.email:
        contact.email = contact.email.lower()
    contact.identities = []
    session.add(contact)
    session.flush()
    return contact


def update_fields(session: Session, *, contact: Contact, changes: dict[str, Any]) -> Contact:
    """Apply validated changes; an erased contact cannot be given personal data again."""
    if contact.erased_at is not None:
        raise Conflict("this contact's personal data was erased; create a new contact instead")
    for key, value in changes.items():
        setattr(contact, key, value.lower() if key == "email" and value else value)
    session.flush()
    return contact


def search_query(
    q: str | None, *, include_merged: bool = False, email: str | None = None, phone: str | None = None
) -> tuple[Select[Any], dict[str, Any]]:
    """Contacts whose name, email or phone contains `q` (case-insensitive), or with exactly this
    email / E.164 phone (indexed lookups), newest first: the statement and its bound values."""
    values: dict[str, Any] = {}
    if email:
        values["email"] = email.strip().lower()
    if phone:
        values["phone"] = phone
    if q and q.strip():
        term = q.strip()
        values["like"] = f"%{term.lower()}%"
        digits = "".join(ch for ch in term if ch.isdigit())
        if len(digits) >= 3:
            values["digits"] = digits
    stmt = _search_statement(
        include_merged, "email" in values, "phone" in values, "like" in values, "digits" in values
    )
    return stmt, values


@lru_cache(maxsize=32)
def _search_statement(
    include_merged: bool, by_email: bool, by_phone: bool, by_text: bool, by_digits: bool
) -> Select[Any]:
    # One statement per combination of filters, its values bound at execution: built once, so SQLAlchemy
    # neither rebuilds it nor recomputes its cache key on every lookup (see pagination._paged).
    # Joined, not select-in: one round trip for the common single-contact lookup.
    stmt = select(Contact).options(joinedload(Contact.identities)).order_by(Contact.id.desc())
    if not include_merged:
        stmt = stmt.where(Contact.merged_into_id.is_(None))
    if by_email:
        stmt = stmt.where(Contact.email == bindparam("email"))
    if by_phone:
        stmt = stmt.where(Contact.phone == bindparam("phone"))
    if by_text:
        like = bindparam("like", type_=String())
        clauses: list[ColumnElement[bool]] = [Contact.name.ilike(like), Contact.email.ilike(like)]
        if by_digits:
            clauses.append(Contact.phone.contains(bindparam("digits")))
        stmt = stmt.where(or_(*clauses))
    return stmt


def surviving_id(session: Session, contact_id: int) -> int:
    """The contact `contact_id` was merged into, following merges of merges (itself when never merged)."""
    seen = {contact_id}
    contact = session.get(Contact, contact_id)
    while contact is not None and contact.merged_into_id is not None and contact.merged_into_id not in seen:
        seen.add(contact.merged_into_id)
        contact = session.get(Contact, contact.merged_into_id)
    return contact.id if contact is not None else contact_id


def merge(session: Session, *, target: Contact, source: Contact) -> Contact:
    """Fold `source` into `target`: identities, conversations and fields; `source` stays as history.

    The contacts' part of a merge: feedback.flows.merge_contacts also moves the tickets and feedback.
    """
    if target.id == source.id:
        raise Invalid("a contact cannot be merged into itself")
    if source.merged_into_id is not None:
        raise Conflict(f"contact {source.id} was already merged into {source.merged_into_id}")
    if target.merged_into_id is not None:
        raise Conflict(f"contact {target.id} was merged into {target.merged_into_id}; merge into that one")
    session.execute(
        update(ContactIdentity).where(ContactIdentity.contact_id == source.id).values(contact_id=target.id)
    )
    session.execute(
        update(Conversation).where(Conversation.contact_id == source.id).values(contact_id=target.id)
    )
    for name in ("name", "email", "phone", "preferred_language"):
        if getattr(target, name) is None and getattr(source, name) is not None:
            setattr(target, name, getattr(source, name))
    target.tags = sorted(set(target.tags) | set(source.tags))
    target.attributes = {**source.attributes, **target.attributes}
    if source.tier.value == "vip":
        target.tier = source.tier
    source.merged_into_id = target.id
    session.flush()
    session.expire(target, ["identities"])
    return target


def export(session: Session, contact: Contact) -> dict[str, Any]:
    """The contact's fields, identities and conversations with their messages, for a data-access request.

    The contacts' part of an export: feedback.flows.export_contact adds the tickets and feedback.
    """
    conversations = session.scalars(
        select(Conversation)
        .where(Conversation.contact_id == contact.id)
        .options(selectinload(Conversation.messages))
        .order_by(Conversation.started_at)
    ).all()
    return {
        "contact": {
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "preferred_language": contact.preferred_language,
            "tier": contact.tier.value,
            "tags": contact.tags,
            "attributes": contact.attributes,
            "created_at": contact.created_at.isoformat(),
        },
        "identities": [{"channel": i.channel, "external_id": i.external_id} for i in contact.identities],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel,
                "status": c.status.value,
                "started_at": c.started_at.isoformat(),
                "messages": [
                    {"role": m.role.value, "text": m.text, "created_at": m.created_at.isoformat()}
                    for m in c.messages
                ],
            }
            for c in conversations
        ],
    }


def erase(session: Session, contact: Contact) -> Contact:
    """Anonymise personal data (fields, identities, customer message texts); keep tickets and figures."""
    contact.name = contact.email = contact.phone = None
    contact.tags = []
    contact.attributes = {}
    contact.erased_at = utcnow()
    for n, identity in enumerate(contact.identities):
        identity.external_id = f"erased-{contact.id}-{n}"
    conversation_ids = select(Conversation.id).where(Conversation.contact_id == contact.id)
    session.execute(
        update(Message)
        .where(Message.conversation_id.in_(conversation_ids), Message.role == MessageRole.customer)
        .values(text=ERASED)
    )
    session.flush()
    return contact
