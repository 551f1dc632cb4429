"""Per-channel callbacks on a conversation's status change (an agent takes over, hands back, resolves):
a platform that keeps its own session state (WeCom's service_state) follows kefu's. Every assignment
of `Conversation.status` is noted (so the escalation lifecycle needs to know nothing of channels); the
hooks run after the commit (a rolled-back change calls nothing), and a hook's failure is logged, never
raised into the agent's action."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from crm_bridge.conversations.models import Conversation

log = logging.getLogger("kefu.channels")
# hook(conversation_id, status): should be quick (enqueue a job for any platform call).
StatusHook = Callable[[str, str], None]
_hooks: dict[str, StatusHook] = {}
_KEY = "kefu_status_changes"


def on_status_change(channel: str, hook: StatusHook) -> None:
    """Call `hook` after a conversation on `channel` changed status (and the change was committed)."""
    _hooks[channel] = hook


@event.listens_for(Conversation.status, "set")
def _status_set(target: Conversation, value: Any, oldvalue: Any, initiator: Any) -> None:
    """Note the conversation's new status for its channel's hook (run after the session commits)."""
    session = object_session(target)
    if session is not None and target.id is not None and value != oldvalue and target.channel in _hooks:
        status = value.value if hasattr(value, "value") else str(value)
        session.info.setdefault(_KEY, {})[target.id] = (target.channel, status)


@event.listens_for(Session, "after_commit")
def _run(session: Session) -> None:
    for conversation_id, (channel, status) in session.info.pop(_KEY, {}).items():
        try:
            _hooks[channel](conversation_id, status)
        except Exception as exc:  # the agent's action is committed; the platform catches up next time
            log.error("%s status hook failed for %s: %s", channel, conversation_id, type(exc).__name__)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)
