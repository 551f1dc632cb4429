"""The agent roster: who is present, which languages they take, how many chats they hold, who can take one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus
from crm_bridge.users.models import User
from kefu_core.db import utcnow
from kefu_core.settings import get_settings


def speaks(user: User, language: str | None) -> bool:
    """An agent with no languages listed takes any; otherwise the conversation's language must be listed."""
    return not language or not user.languages or language in user.languages


def agent_name(user: User) -> str:
    """How the customer sees an agent."""
    return user.display_name or user.username


def loads(session: Session) -> dict[int, int]:
    """Active chats per agent."""
    rows = session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.status == ConversationStatus.agent, Conversation.assignee_id.is_not(None))
        .group_by(Conversation.assignee_id)
    ).all()
    return {int(user_id): int(count) for user_id, count in rows if user_id is not None}


def present_agents(session: Session) -> list[User]:
    """Active agents who are online, and whose console (if they use one) was seen lately."""
    since = utcnow() - timedelta(seconds=get_settings().agent_away_seconds)
    stmt = select(User).where(
        User.online.is_(True),
        User.active.is_(True),
        or_(User.console_seen_at.is_(None), User.console_seen_at >= since),
    )
    return list(session.scalars(stmt))


def eligible_agents(session: Session, language: str | None) -> list[User]:
    """Online agents who speak `language` and are under their chat limit, least loaded first."""
    load = loads(session)
    online = present_agents(session)
    able = [u for u in online if speaks(u, language) and load.get(u.id, 0) < u.max_concurrent_chats]
    return sorted(able, key=lambda u: (load.get(u.id, 0), u.id))
