"""Labelling stored customer messages in the chat turn; a sentiment failure never fails the turn."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from kefu_core.encoding.shared import METADATA_KEY

log = logging.getLogger("kefu.sentiment")


class Labelled(Protocol):
    """What a stored message offers (the app's Message model)."""

    @property
    def id(self) -> int | None:
        """The stored id (for the log line)."""
        ...

    text: str
    sentiment_label: str | None
    sentiment_score: float | None


def label_message(message: Labelled, text: str, language: str) -> None:
    """Store label and score on `message`; on any error log (never the text) and leave them empty."""
    from sentiment.analyser import get_analyser

    if text.startswith("/"):  # a button's payload (/deny, /affirm) is not the customer's own words
        return

    try:
        result = get_analyser().analyse(text, language if language in ("en", "zh") else None)
    except Exception:  # sentiment is advisory: the customer's turn must go on
        log.exception("sentiment failed for message %s (text not logged)", message.id)
        return
    message.sentiment_label = result.label
    message.sentiment_score = result.score


def rasa_metadata(message: Labelled) -> dict[str, Any]:
    """`sentiment` / `sentiment_score` for Rasa's metadata, when the message was labelled, and the message's
    sentence vector when labelling computed it for exactly the text Rasa reads (its featurizer then runs
    no MiniLM pass of its own: docs/decisions/0018-one-encoding-per-turn.md)."""
    if message.sentiment_label is None:
        return {}
    out: dict[str, Any] = {"sentiment": message.sentiment_label, "sentiment_score": message.sentiment_score}
    vector = shared_vector(message.text)
    if vector is not None:
        out[METADATA_KEY] = vector
    return out


def shared_vector(text: str) -> dict[str, Any] | None:
    """The metadata value with the vector sentiment computed for `text` (as Rasa reads it: stripped),
    or None when there is none (another backend, another text, forgotten)."""
    from sentiment.analyser import get_analyser

    try:
        encoder = getattr(get_analyser().backend, "encoder", None)
    except Exception:  # no analyser: the message was not labelled by this process, nothing to share
        return None
    remembering = getattr(encoder, "remembering", None)
    return remembering.recall(text.strip()) if remembering is not None else None


def warm_sentiment() -> None:
    """Build the process's analyser at start-up (a failure is logged, not raised)."""
    from sentiment.analyser import get_analyser

    try:
        analyser = get_analyser()
        # One message per language: the first real customer message then pays no one-off set-up.
        analyser.analyse("warm up", "en")
        analyser.analyse("预热", "zh")
    except Exception:  # the API still starts; each turn then logs and goes on without a label
        log.exception("sentiment analyser could not be built")
