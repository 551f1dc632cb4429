"""Pulling a kf account's new messages with kf/sync_msg in a queue job (the webhook must answer within
WeCom's 5 seconds): pages followed through has_more/next_cursor from the cursor saved per open_kfid,
one worker at a time per kf account (a lease), each customer message stored once by its msgid."""

from __future__ import annotations

import logging

from huey.exceptions import RetryTask
from sqlalchemy.orm import Session

from crm_bridge.channels import stats
from crm_bridge.channels.inbound import accept
from crm_bridge.channels.models import ChannelCursor
from crm_bridge.channels.wecom import api
from crm_bridge.channels.wecom.parse import CHANNEL, parse_message
from crm_bridge.jobs import leases
from crm_bridge.jobs.queue import task, worker_name
from kefu_core.db import get_sessionmaker
from kefu_core.texts import say

log = logging.getLogger("kefu.channels.wecom")
MAX_PAGES = 50  # per run; a backlog beyond 50,000 messages continues in the next run


def cursor(session: Session, open_kfid: str) -> str:
    """The saved next_cursor for this kf account ("" before the first pull: WeCom starts 3 days back)."""
    saved = session.get(ChannelCursor, (CHANNEL, open_kfid))
    return saved.value if saved is not None else ""


def save_cursor(session: Session, open_kfid: str, value: str) -> None:
    """Remember where the next pull starts; commits."""
    saved = session.get(ChannelCursor, (CHANNEL, open_kfid))
    if saved is None:
        session.add(ChannelCursor(channel=CHANNEL, key=open_kfid, value=value))
    else:
        saved.value = value
    session.commit()


def store_page(session: Session, entries: list[object]) -> int:
    """Store each customer message of one sync_msg page (a repeated msgid is stored once); how many new."""
    stored = 0
    for entry in entries:
        parsed = parse_message(entry)
        if parsed.inbound is None:
            stats.count(CHANNEL, stats.IGNORED, parsed.reason)
            continue
        answer = say("text_only", parsed.language) if parsed.kind == "non_text" else None
        stored += not accept(session, parsed.inbound, answer=answer).duplicate
    return stored


def pull(session: Session, wecom: api.WeComClient, open_kfid: str, token: str) -> int:
    """Read every page there is now, saving the cursor after each; how many new messages were stored."""
    stored = 0
    for _ in range(MAX_PAGES):
        page = wecom.sync_msg(open_kfid=open_kfid, cursor=cursor(session, open_kfid), token=token)
        entries = page.get("msg_list") or []
        stored += store_page(session, entries if isinstance(entries, list) else [])
        if page.get("next_cursor"):
            save_cursor(session, open_kfid, str(page["next_cursor"]))
        if not page.get("has_more"):
            break
    return stored


@task("wecom.sync", retries=5, retry_delay=2.0, retry_backoff=2.0)
def sync(open_kfid: str, token: str) -> None:
    """Pull the kf account's new messages (`token` from the callback lifts sync_msg's strict rate limit
    for 10 minutes). Another worker pulling the same account: look again once it is done."""
    wecom = api.client()
    if wecom is None:
        log.warning("WeCom pull for a kf account skipped: the channel is not configured")
        return
    key, owner = f"wecom-sync:{open_kfid}", worker_name()
    with get_sessionmaker()() as session:
        if not leases.acquire(session, key, owner=owner, seconds=600):
            raise RetryTask(delay=1.0)  # what the holder pulls may predate this callback's messages
        try:
            stored = pull(session, wecom, open_kfid, token)
        except api.ApiError as exc:
            log.warning("WeCom sync_msg failed (%s); the job is retried", exc)
            raise
        finally:
            session.rollback()
            leases.release(session, key, owner=owner)
    log.info("WeCom pull stored %d new message(s)", stored)
