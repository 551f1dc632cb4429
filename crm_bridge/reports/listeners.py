"""The rollup's listeners (the pattern of crm_bridge/channels/hooks.py): note what a flush touched, and mark
those conversations out of date just before the transaction commits, inside it (crm_bridge/reports/
pending.py), so no change is ever missed; reports apply the marks before they read. A rolled-back
transaction leaves no mark."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from crm_bridge.conversations.models import Conversation, ConversationStatus, Message
from crm_bridge.escalation.models import Escalation
from crm_bridge.kb.models import KbDecision
from crm_bridge.reports import facts, pending

_DIRTY = "kefu_facts_dirty"  # conversation ids touched
_NEW = "kefu_facts_new"  # conversations inserted (their contact's previous one changes too)
_CHANGES = "kefu_facts_changes"  # {id(conversation): (conversation, ["resolved" | "reopened", ...])}
_RESYNC = "kefu_facts_resync"  # a bulk UPDATE moved conversations between contacts


@event.listens_for(Conversation.status, "set")
def _status_set(target: Conversation, value: Any, oldvalue: Any, initiator: Any) -> None:
    """Count resolutions and reopens as they happen (the base tables keep only the last resolution)."""
    resolved = ConversationStatus.resolved
    if value == oldvalue:
        return
    if value == resolved:
        change = "resolved"
    elif oldvalue == resolved:
        change = "reopened"
    else:
        return
    # The object may not belong to a session yet (a new Conversation(status=...)): keep it on the object.
    pending: list[str] = target.__dict__.setdefault("_kefu_status_changes", [])
    pending.append(change)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    dirty: set[str] = session.info.setdefault(_DIRTY, set())
    new: set[str] = session.info.setdefault(_NEW, set())
    changes: dict[int, tuple[Conversation, list[str]]] = session.info.setdefault(_CHANGES, {})
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Conversation):
            dirty.add(obj.id)
            if obj in session.new:
                new.add(obj.id)
            pending = obj.__dict__.pop("_kefu_status_changes", None)
            if pending:
                changes.setdefault(id(obj), (obj, []))[1].extend(pending)
        elif isinstance(obj, Message | Escalation | KbDecision) and obj.conversation_id:
            dirty.add(obj.conversation_id)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    # contacts.service.merge moves conversations with one UPDATE the flush never sees.
    if state.is_update and state.bind_mapper is not None and state.bind_mapper.class_ is Conversation:
        state.session.info[_RESYNC] = True


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()  # what this commit writes is known only after its flush (the commit flushes anyway)
    if not (session.info.get(_DIRTY) or session.info.get(_RESYNC)):
        return
    dirty: set[str] = session.info.pop(_DIRTY, set())
    new: set[str] = session.info.pop(_NEW, set())
    changes: dict[int, tuple[Conversation, list[str]]] = session.info.pop(_CHANGES, {})
    resync = session.info.pop(_RESYNC, False)
    counted: dict[str, pending.Change] = {}
    for conv, kinds in changes.values():
        change = counted.setdefault(conv.id, pending.Change())
        change.resolutions += kinds.count("resolved")
        change.reopens += kinds.count("reopened")
        if "resolved" in kinds:
            change.first_resolved_at = change.first_resolved_at or conv.resolved_at
    # Marked, not recomputed: the facts are brought up to date before a report reads (pending.apply).
    pending.mark(session, dirty, new, counted)
    if resync:
        facts.resync_contacts(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        for key in (_DIRTY, _NEW, _CHANGES, _RESYNC):
            session.info.pop(key, None)
