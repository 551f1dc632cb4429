"""The WeCom session state (kf/service_state) following kefu's hand-over.

WeCom's states: 0 new, 1 由智能助手接待 (the API answers), 2 in WeCom's own queue, 3 由人工接待 (a
servicer in the WeCom app; needs their WeCom userid), 4 ended. kf/send_msg is accepted only in states 0
and 1 (95018 otherwise), and kefu's agents answer from kefu's console through that same API. So kefu keeps
every session it handles in state 1, with the bot and with a kefu agent alike, and never moves one to 3:
that would hand the customer to the WeCom app and silence kefu's agent. On each status change (an agent
accepts, hands back, resolves) a job reads the state and moves a new session (0) to 1; a session a WeCom
servicer took (2 or 3) cannot be taken back by the API (only a servicer or the session's end frees it),
so the agent gets an internal note saying why their replies will not arrive."""

from __future__ import annotations

import logging

from sqlalchemy import select

from crm_bridge.channels.hooks import on_status_change
from crm_bridge.channels.wecom import api
from crm_bridge.channels.wecom.parse import CHANNEL, split_recipient
from crm_bridge.contacts.models import ContactIdentity
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, ConversationStatus, MessageRole
from crm_bridge.jobs.queue import task
from kefu_core.db import get_sessionmaker

log = logging.getLogger("kefu.channels.wecom")
NEW, API, POOL, SERVICER, ENDED = 0, 1, 2, 3, 4
RETRY = frozenset({-1, 45009, 45033, *api.TOKEN_ERRORS})
NOTE = (
    "WeCom: a servicer took this customer's session in the WeCom app (service state {state}); WeCom "
    "refuses kefu's replies until that session ends."
)


@task("wecom.service_state", retries=3, retry_delay=2.0, retry_backoff=2.0)
def follow(conversation_id: str) -> None:
    """Bring the WeCom session of this conversation's customer to state 1 where the API may do that."""
    wecom = api.client()
    if wecom is None:
        return
    with get_sessionmaker()() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            return
        external_id = session.scalars(
            select(ContactIdentity.external_id).where(
                ContactIdentity.contact_id == conversation.contact_id, ContactIdentity.channel == CHANNEL
            )
        ).first()
        if external_id is None:
            return
        open_kfid, external_userid = split_recipient(external_id)
        try:
            state, _ = wecom.service_state(open_kfid=open_kfid, external_userid=external_userid)
            if state == NEW:
                wecom.trans(open_kfid=open_kfid, external_userid=external_userid, state=API)
                log.info("WeCom session of %s moved to state 1 (the API answers)", conversation_id)
        except api.ApiError as exc:
            if exc.errcode in RETRY:
                raise
            log.warning("WeCom service state of %s not changed: %s", conversation_id, exc)
            return
        if state in (POOL, SERVICER) and conversation.status is ConversationStatus.agent:
            conversations.add_message(
                session,
                conversation=conversation,
                role=MessageRole.system,
                text=NOTE.format(state=state),
                language=conversation.language,
                internal=True,
            )
            session.commit()


def _hook(conversation_id: str, status: str) -> None:
    follow(conversation_id)


def register() -> None:
    """Make kefu's status changes on WeCom conversations move the WeCom session (registry calls this)."""
    on_status_change(CHANNEL, _hook)
