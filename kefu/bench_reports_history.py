"""The generator behind kefu/bench_reports_data.py: one conversation at a time, the way the product would have
recorded it (messages in order, the first non-declined escalation as the handoff, an agent's first reply
after a wait, tickets with the SLA policy's due times, ratings after a survey offer)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from kefu.bench_reports_data import (
    CHANNELS,
    DECISIONS,
    HOURS,
    LANGUAGES,
    OUTCOMES,
    PRIORITIES,
    RATINGS,
    REASONS,
    TAGS,
    TEXT,
    ZONE,
    Batch,
    Sizes,
    message_counts,
    pick,
)
from kefu_core.settings import DEFAULT_SLA

GAPS = {"customer": (8.0, 120.0), "bot": (0.8, 3.0), "agent": (20.0, 240.0)}


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


class History:
    """A deterministic history for `sizes`, ending at `now`, with these agents' user ids."""

    def __init__(self, sizes: Sizes, agents: list[int], now: datetime, seed: int = 23) -> None:
        self.rng = random.Random(seed)
        self.sizes, self.agents, self.now = sizes, agents, now
        self.ticket_id = 0
        self.feedback_id = 0
        self.counts = message_counts(self.rng, sizes.conversations, sizes.messages)

    def contacts(self) -> list[dict[str, Any]]:
        """Contacts 1..n: a tenth VIP, a fifth with one or two tags."""
        rng, rows = self.rng, []
        for i in range(1, self.sizes.contacts + 1):
            tags = rng.sample(TAGS, rng.randint(1, 2)) if rng.random() < 0.2 else []
            at = self.now - timedelta(days=self.sizes.days + 30)
            rows.append(
                {"id": i, "name": f"Customer {i}", "email": f"c{i}@example.com", "phone": None,
                 "preferred_language": pick(rng, LANGUAGES),
                 "tier": "vip" if rng.random() < 0.1 else "standard",
                 "tags": tags, "attributes": {}, "merged_into_id": None, "erased_at": None,
                 "created_at": at, "updated_at": at}
            )  # fmt: skip
        return rows

    def probes(self) -> list[dict[str, Any]]:
        """One probe row per minute of the last `probe_days`, with a few outages (Rasa, mostly)."""
        rng, rows = self.rng, []
        last = self.now.replace(second=0, microsecond=0)
        minutes = self.sizes.probe_days * 1440
        outages = {
            m for _ in range(6) for s in [rng.randrange(minutes)] for m in range(s, s + rng.randint(3, 40))
        }
        for i in range(minutes, 0, -1):
            minute = last - timedelta(minutes=i)
            down = i in outages
            part = rng.choice(("rasa", "rasa", "action_server", "database")) if down else ""
            rows.append(
                {"minute": minute, "healthy": not down, "database_ok": part != "database",
                 "rasa_ok": part != "rasa", "action_server_ok": part != "action_server",
                 "knowledge_base_ok": True, "checked_at": minute + _s(2), "duration_ms": rng.randint(4, 40)}
            )  # fmt: skip
        return rows

    def batches(self) -> Iterator[Batch]:
        """The conversations and everything around them, `sizes.chunk` conversations per batch."""
        batch = Batch()
        for i, n in enumerate(self.counts, 1):
            self._conversation(batch, n)
            if i % self.sizes.chunk == 0:
                yield batch
                batch = Batch()
        if batch.rows["conversations"]:
            yield batch

    def _start(self) -> datetime:
        rng = self.rng
        # More recent days a little busier (a growing service); never today, so conversations have ended.
        day = (
            self.now.astimezone(ZONE) - timedelta(days=2 + int(self.sizes.days * rng.random() ** 1.15))
        ).date()
        local = datetime(day.year, day.month, day.day, pick(rng, HOURS), rng.randrange(60), rng.randrange(60))
        return local.replace(tzinfo=ZONE).astimezone(UTC)

    def _wait(self, outcome: str) -> timedelta:
        rng = self.rng
        if outcome == "offline":  # an agent answers the offline ticket the next working morning
            return _s(rng.uniform(2 * 3600, 14 * 3600))
        if rng.random() < 0.05:
            return _s(rng.uniform(3600, 6 * 3600))
        return _s(5 + rng.expovariate(1 / (60 if outcome == "assigned" else 150)))

    def _ticket(
        self, b: Batch, created: datetime, contact: int, conv: str, priority: str, agent: int | None
    ) -> int:
        rng = self.rng
        self.ticket_id += 1
        sla = DEFAULT_SLA[priority]
        fr_m, res_m = sla.first_response_minutes, sla.resolution_minutes
        first: datetime | None = created + timedelta(
            minutes=fr_m * (rng.uniform(0.05, 0.95) if rng.random() < 0.87 else rng.uniform(1.05, 3))
        )
        resolved: datetime | None = None
        if rng.random() < 0.85:
            late = rng.random() >= 0.8
            resolved = created + timedelta(
                minutes=res_m * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.1, 0.95))
            )
            resolved = max(resolved, first + _s(600)) if first else resolved
        first = first if first and first < self.now else None
        resolved = resolved if resolved and resolved < self.now else None
        closed = resolved is not None and rng.random() < 0.5
        status = ("closed" if closed else "resolved") if resolved else rng.choice(("new", "open", "pending"))
        b.add(
            "tickets", id=self.ticket_id, subject=f"Conversation follow-up {self.ticket_id}", description="",
            status=status, priority=priority, contact_id=contact, conversation_id=conv, assignee_id=agent,
            idempotency_key=None, request_hash=None, created_at=created, updated_at=resolved or created,
            first_response_due_at=created + timedelta(minutes=fr_m),
            resolution_due_at=created + timedelta(minutes=res_m), first_responded_at=first,
            resolved_at=resolved, closed_at=resolved + timedelta(days=1) if closed and resolved else None,
        )  # fmt: skip
        return self.ticket_id

    def _conversation(self, b: Batch, n: int) -> None:
        rng = self.rng
        cid = f"{rng.getrandbits(128):032x}"
        contact = 1 + int(self.sizes.contacts * rng.random() ** 1.7)  # regulars come back
        channel, lang = pick(rng, CHANNELS), pick(rng, LANGUAGES)
        started = self._start()
        handoff = rng.random() < 0.32
        k = 2 * rng.randint(1, max(1, (n - 1) // 2)) if handoff else n + 1  # handed over after a bot reply
        reason, outcome = (pick(rng, REASONS), pick(rng, OUTCOMES)) if handoff else (None, None)
        escalated = handoff and outcome != "declined"
        agent = rng.choice(self.agents) if escalated else None
        negative = 0.45 if reason in ("complaint", "negative_sentiment") else 0.12
        t, first_response, customer_at, handoff_at = started, None, started, None

        def escalate(at: datetime) -> None:
            ticket = self._ticket(b, at, contact, cid, "normal", agent) if outcome == "offline" else None
            b.add("escalations", conversation_id=cid, reason=reason, note=None, outcome=outcome,
                  ticket_id=ticket, created_at=at)  # fmt: skip

        for j in range(n):
            role = (
                ("agent" if (j - k) % 2 == 0 else "customer")
                if escalated and j >= k
                else ("customer" if j % 2 == 0 else "bot")
            )
            if handoff and j == k:
                handoff_at = t + _s(2)
                escalate(handoff_at)
                t = handoff_at + (self._wait(str(outcome)) if escalated else _s(rng.uniform(8, 120)))
            elif j:
                t += _s(rng.uniform(*GAPS[role]))
            internal = role == "agent" and rng.random() < 0.05
            label, score = None, None
            if role == "customer":
                customer_at = t
                r = rng.random()
                label = "negative" if r < negative else "positive" if r < negative + 0.2 else "neutral"
                score = round(rng.uniform(0.55, 0.99), 3)
            elif role == "bot":  # the action server asked the knowledge base for this customer
                b.add(
                    "kb_decisions", conversation_id=cid, language=lang, decision=pick(rng, DECISIONS),
                    top_faq_id=f"faq-{rng.randrange(60):03d}", created_at=customer_at + _s(0.4),
                )  # fmt: skip
            if role != "customer" and not internal and first_response is None:
                first_response = t
            b.add(
                "messages", conversation_id=cid, role=role, text=rng.choice(TEXT[role]), buttons=[],
                channel=channel, language=lang, sentiment_label=label, sentiment_score=score,
                internal=internal, client_id=None, author_id=agent if role == "agent" else None,
                reply_to_id=None, created_at=t,
            )  # fmt: skip
        if handoff and k >= n:
            handoff_at = t + _s(2)
            escalate(handoff_at)
        self._ending(b, cid, contact, channel, lang, started, t, first_response, agent, handoff_at)

    def _ending(
        self, b: Batch, cid: str, contact: int, channel: str, lang: str, started: datetime, last: datetime,
        first_response: datetime | None, agent: int | None, handoff_at: datetime | None,
    ) -> None:  # fmt: skip
        rng = self.rng
        resolved_at: datetime | None = last + _s(rng.uniform(30, 1800))
        if (started > self.now - timedelta(days=3) and rng.random() < 0.35) or (
            agent is None and rng.random() < 0.55
        ):
            resolved_at = None  # still open, or a bot conversation that just went quiet
        if resolved_at is not None and resolved_at >= self.now:
            resolved_at = None
        status = "resolved" if resolved_at else ("agent" if agent else "bot")
        b.add(
            "conversations", id=cid, contact_id=contact, channel=channel, status=status, language=lang,
            assignee_id=agent, started_at=started, first_response_at=first_response, resolved_at=resolved_at,
            queued_at=None, updated_at=resolved_at or last,
        )  # fmt: skip
        if resolved_at is None:
            return
        if agent is not None and rng.random() < 0.04:
            self._ticket(b, handoff_at or started, contact, cid, pick(rng, PRIORITIES), agent)
        if agent is not None and rng.random() < 0.07:  # resolved, reopened, resolved again: counted live
            first = started + (resolved_at - started) * rng.uniform(0.3, 0.7)
            b.add(
                "conversation_facts", conversation_id=cid, contact_id=contact, channel=channel, language=lang,
                started_at=started, assignee_id=agent, handoff_at=None, handoff_reason=None,
                first_reply_at=None, first_responder_id=None, first_response_s=None, first_response_bh_s=None,
                agent_replies=0, first_resolved_at=first, resolved_at=resolved_at, resolutions=2, reopens=1,
                first_resolution_s=None, full_resolution_s=None, last_message_at=None, next_started_at=None,
                recontact_s=None, kb_decisions=0, kb_none=0, inbound_messages=0, positive=0, neutral=0,
                negative=0,
            )  # fmt: skip
        if rng.random() < 0.45:
            via = "widget" if channel == "widget" and agent is not None else "bot"
            b.add("survey_offers", conversation_id=cid, via=via, offered_at=resolved_at)
            if rng.random() < 0.4:
                rating = int(pick(rng, RATINGS))
                at = resolved_at + _s(rng.uniform(20, 900))
                self.feedback_id += 1
                b.add(
                    "feedback", id=self.feedback_id, rating=rating,
                    nps=rng.randint(0, 10) if rng.random() < 0.35 else None,
                    comment="Too slow" if rating <= 2 and rng.random() < 0.5 else None, conversation_id=cid,
                    ticket_id=None, contact_id=contact, agent_id=agent, created_at=at,
                )  # fmt: skip
                if rating <= 2:  # KEFU_FOLLOW_UP_RATING's default: the closed loop opens a ticket
                    ticket = self._ticket(b, at, contact, cid, "high", agent)
                    b.add(
                        "feedback_follow_ups", feedback_id=self.feedback_id, ticket_id=ticket, created_at=at
                    )
