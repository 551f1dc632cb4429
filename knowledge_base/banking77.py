"""BANKING77 as FAQ-retrieval benchmarks: the closed set (all intents known) and the open-intent protocol.

The data (PolyAI's `train.csv` / `test.csv`, header `text,category`) is read from a folder outside the
repository; nothing here copies it.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from knowledge_base.documents import EntryDoc
from knowledge_base.evaluate import EvalInputError, Query


def readable_intent(intent: str) -> str:
    """'card_not_working' -> 'Card not working'."""
    words = intent.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _read_banking_csv(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header != ["text", "category"]:
                raise EvalInputError(f"{path}:1: expected the header `text,category`, got {header}")
            rows = []
            for number, row in enumerate(reader, start=2):
                if len(row) != 2 or not row[0].strip() or not row[1].strip():
                    raise EvalInputError(f"{path}: row {number}: expected two non-empty fields")
                rows.append((row[0].strip(), row[1].strip()))
    except FileNotFoundError:
        raise EvalInputError(f"{path}: file not found (is --data the banking77 folder?)") from None
    if not rows:
        raise EvalInputError(f"{path}: no rows")
    return rows


def _train_by_intent(data_dir: Path) -> dict[str, list[str]]:
    if not data_dir.is_dir():
        raise EvalInputError(f"{data_dir}: no such folder (is --data the banking77 folder?)")
    by_intent: dict[str, list[str]] = {}
    for text, intent in _read_banking_csv(data_dir / "train.csv"):
        by_intent.setdefault(intent, []).append(text)
    return by_intent


def _entry(intent: str, texts: list[str]) -> EntryDoc:
    name = readable_intent(intent)
    return EntryDoc(intent, name, name, "en", None, tuple(texts))


def load_banking77(
    data_dir: Path, *, shots: int | None = None, seed: int = 0
) -> tuple[list[EntryDoc], list[Query]]:
    """Entries (one per intent; its training texts, or `shots` sampled with `seed`) and the test queries."""
    if shots is not None and shots < 1:
        raise ValueError("shots must be at least 1")
    by_intent = _train_by_intent(data_dir)
    rng = random.Random(seed)
    entries = []
    for intent in sorted(by_intent):  # sorted: the sample depends on the seed only, not on file order
        texts = by_intent[intent]
        if shots is not None and shots < len(texts):
            texts = rng.sample(texts, shots)
        entries.append(_entry(intent, texts))
    queries = []
    for text, intent in _read_banking_csv(data_dir / "test.csv"):
        if intent not in by_intent:
            raise EvalInputError(f"{data_dir / 'test.csv'}: intent {intent!r} has no training texts")
        queries.append(Query(text, intent, "en"))
    return entries, queries


def known_intent_count(total: int, known_ratio: float) -> int:
    """How many intents are known at `known_ratio`: round(total x ratio), as the ADB code does (38 of 77
    at 0.5, 19 at 0.25, 58 at 0.75)."""
    if not 0 < known_ratio < 1:
        raise ValueError(f"known ratio must be between 0 and 1 (exclusive), got {known_ratio}")
    count = round(total * known_ratio)
    if not 0 < count < total:
        raise ValueError(f"known ratio {known_ratio} of {total} intents leaves no known or no unknown intent")
    return count


def load_banking77_open(
    data_dir: Path, *, known_ratio: float, seed: int
) -> tuple[list[EntryDoc], list[Query]]:
    """The open-intent protocol: entries from the training texts of a random `known_ratio` of the intents
    (drawn with `seed`), every test question, and the questions of the other intents expected `none`."""
    by_intent = _train_by_intent(data_dir)
    intents = sorted(by_intent)  # sorted: the draw depends on the seed only, not on file order
    known = set(random.Random(seed).sample(intents, known_intent_count(len(intents), known_ratio)))
    entries = [_entry(intent, by_intent[intent]) for intent in intents if intent in known]
    queries = []
    for text, intent in _read_banking_csv(data_dir / "test.csv"):
        if intent not in by_intent:
            raise EvalInputError(f"{data_dir / 'test.csv'}: intent {intent!r} has no training texts")
        queries.append(Query(text, intent if intent in known else None, "en"))
    return entries, queries
