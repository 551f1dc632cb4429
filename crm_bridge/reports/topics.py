"""What customers ask most: Rasa's intents (its SQL tracker store) and the knowledge base's decisions per
FAQ entry, and what the bot could not answer (the unanswered inbox, grouped as the inbox groups it).

Rasa keys its events by sender_id, which is kefu's conversation id, so the segment filters reach the
tracker store through kefu's conversations table.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, func, inspect, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crm_bridge.conversations.models import Conversation
from crm_bridge.erasure.tracker import tracker_url
from crm_bridge.kb.models import KbDecision
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.voice import TOPIC_CHARS, scope
from kefu_core.settings import Settings
from knowledge_base import unanswered
from knowledge_base.encoder import Encoder
from knowledge_base.models import FaqEntry, UnansweredQuestion

log = logging.getLogger("kefu.reports")
TOP = 50  # intents and FAQ entries listed (the most frequent)
UNANSWERED_GROUPS = 20
MAX_UNANSWERED = 2000  # newest questions of the period grouped: the embedding cost stays bounded
_BATCH = 500
DECISIONS = ("answer", "clarify", "none")

# Only the columns read: the rest of Rasa's schema (rasa/core/tracker_store.py SQLEvent) is Rasa's.
_EVENTS = Table(
    "events",
    MetaData(),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
)


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason, "total": 0, "items": []}


def _in_scope(session: Session, f: ReportFilter, ids: list[str]) -> set[str]:
    """Which of these conversation ids the filter's segment keeps."""
    kept: set[str] = set()
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        kept.update(
            session.scalars(scope(select(Conversation.id).where(Conversation.id.in_(chunk)), session, f))
        )
    return kept


def _segmented(f: ReportFilter) -> bool:
    return any(v is not None for v in (f.channel, f.language, f.agent_id, f.tier, f.tag))


def intents(session: Session, f: ReportFilter, settings: Settings) -> dict[str, Any]:
    """User-message counts per intent in the period: `available: false` with a reason when the tracker store
    is not configured or cannot be read (the rest of the report does not depend on it)."""
    url: URL | None = tracker_url(settings)
    if url is None:
        return _unavailable("Rasa's tracker store is not configured (RASA_TRACKER_DB)")
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return _unavailable("Rasa's tracker store has no data yet (its SQLite file does not exist)")
    # Reports wait on this: a PostgreSQL store that does not answer fails in seconds, not minutes.
    connect_args = {"connect_timeout": 3} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    ev = _EVENTS.c
    where = (
        ev.type_name == "user",
        ev.intent_name.is_not(None),
        ev.timestamp >= f.start.timestamp(),
        ev.timestamp < f.end.timestamp(),
    )
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("events"):
                return _unavailable("Rasa's tracker store has no events table yet")
            # Per conversation only when a segment must be checked against kefu's conversations.
            keys = (ev.sender_id, ev.intent_name) if _segmented(f) else (ev.intent_name,)
            rows: list[tuple[Any, ...]] = [
                tuple(r) for r in conn.execute(select(*keys, func.count()).where(*where).group_by(*keys))
            ]
    except SQLAlchemyError as exc:
        # The type only: driver messages can carry the URL (with its password).
        log.warning("tracker store unreadable for the topics report: %s", type(exc).__name__)
        return _unavailable(f"Rasa's tracker store could not be read ({type(exc).__name__})")
    finally:
        engine.dispose()
    if _segmented(f):
        kept = _in_scope(session, f, sorted({str(r[0]) for r in rows}))
        rows = [r[1:] for r in rows if r[0] in kept]
    counts: Counter[str] = Counter()
    for name, n in rows:
        counts[str(name)] += int(n)
    return {
        "available": True,
        "reason": None,
        "total": sum(counts.values()),
        "items": [{"intent": name, "count": n} for name, n in counts.most_common(TOP)],
    }


def faq(session: Session, f: ReportFilter) -> dict[str, Any]:
    """The knowledge base's decisions in the period, and answers and clarifications per FAQ entry."""
    base = scope(
        select(KbDecision.decision, KbDecision.top_faq_id, func.count())
        .join(Conversation, Conversation.id == KbDecision.conversation_id)
        .where(KbDecision.created_at >= f.start, KbDecision.created_at < f.end),
        session,
        f,
    ).group_by(KbDecision.decision, KbDecision.top_faq_id)
    decisions: Counter[str] = Counter()
    per_entry: dict[str, Counter[str]] = {}
    for decision, faq_id, n in session.execute(base):
        decisions[decision] += int(n)
        if faq_id and decision in ("answer", "clarify"):  # a `none`'s top entry did not answer
            per_entry.setdefault(faq_id, Counter())[decision] += int(n)
    ranked = sorted(per_entry.items(), key=lambda kv: (-kv[1]["answer"], -kv[1]["clarify"], kv[0]))[:TOP]
    questions = dict(
        session.execute(select(FaqEntry.id, FaqEntry.question).where(FaqEntry.id.in_([k for k, _ in ranked])))
        .tuples()
        .all()
    )
    total = sum(decisions.values())
    return {
        "total": total,
        "decisions": {d: decisions.get(d, 0) for d in DECISIONS},
        "unanswered_rate": round(decisions["none"] / total, 4) if total else None,
        "entries": [
            {
                "faq_id": faq_id,
                "question": questions.get(faq_id),  # None: the entry was deleted since
                "answers": counts["answer"],
                "clarifications": counts["clarify"],
            }
            for faq_id, counts in ranked
        ],
    }


def unanswered_groups(
    session: Session, f: ReportFilter, embedder: Encoder, encoders: Mapping[str, Encoder] | None
) -> dict[str, Any]:
    """Questions the bot could not answer in the period (the inbox's, resolved or not), grouped."""
    stmt = scope(
        select(UnansweredQuestion)
        .outerjoin(Conversation, Conversation.id == UnansweredQuestion.conversation_id)
        .where(UnansweredQuestion.created_at >= f.start, UnansweredQuestion.created_at < f.end),
        session,
        f,
    )
    items = list(session.scalars(stmt.order_by(UnansweredQuestion.id.desc()).limit(MAX_UNANSWERED)))
    groups = unanswered.group(items, embedder, encoders)
    return {
        "total": len(items),
        "open": sum(1 for i in items if i.resolved_at is None),
        "truncated": len(items) >= MAX_UNANSWERED,
        "groups": [
            {
                "topic": str(g["representative"])[:TOPIC_CHARS],
                "language": g["language"],
                "count": g["count"],
                "open": sum(1 for i in g["items"] if i.resolved_at is None),
                "item_ids": [i.id for i in g["items"]][:20],
            }
            for g in groups[:UNANSWERED_GROUPS]
        ],
    }


def report(
    session: Session,
    f: ReportFilter,
    settings: Settings,
    embedder: Encoder,
    encoders: Mapping[str, Encoder] | None = None,
) -> dict[str, Any]:
    """Intents, FAQ entries and unanswered questions of the period."""
    return {
        "period": {"from": f.start.isoformat(), "to": f.end.isoformat()},
        "intents": intents(session, f, settings),
        "faq": faq(session, f),
        "unanswered": unanswered_groups(session, f, embedder, encoders),
    }
