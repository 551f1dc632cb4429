"""Two transactions refreshing one conversation's facts at once (an agent's reply and a bot turn in two
workers) both commit: the row is upserted, not deleted and inserted (a unique violation on PostgreSQL)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.reports import facts
from crm_bridge.reports.models import ConversationFacts, FactsPending
from kefu_core.db import make_engine
from tests.helpers import kefu_env


def test_concurrent_refreshes_of_a_new_row_both_commit(db_url: str) -> None:
    with kefu_env(DATABASE_URL=db_url):
        engine = make_engine(db_url)
        errors: list[BaseException] = []
        try:
            with Session(engine) as setup:  # a conversation of its own (the shared history stays intact)
                contact = Contact(name="concurrent")
                setup.add(contact)
                setup.flush()
                conv = Conversation(contact_id=contact.id, channel="api", language="en")
                setup.add(conv)
                setup.commit()
                conversation = conv.id
                # As for a conversation whose row was never written (its mark not yet applied).
                setup.execute(delete(FactsPending).where(FactsPending.conversation_id == conversation))
                setup.commit()
            with Session(engine) as first:
                assert facts.refresh(first, [conversation]) == 1  # row inserted, not yet committed

                def second() -> None:
                    try:
                        with Session(engine) as other:
                            facts.refresh(other, [conversation])  # waits for `first` on PostgreSQL
                            other.commit()
                    except BaseException as exc:  # reported to the test below
                        errors.append(exc)

                worker = threading.Thread(target=second)
                worker.start()
                time.sleep(0.5)
                first.commit()
                worker.join(timeout=30)
            assert not worker.is_alive()
            assert errors == []
            with Session(engine) as check:
                rows = check.scalar(
                    select(func.count())
                    .select_from(ConversationFacts)
                    .where(ConversationFacts.conversation_id == conversation)
                )
                assert rows == 1
        finally:
            engine.dispose()
