"""One language's index: its entries, their texts (vector, BM25 tokens, word pieces) and the structures
searched over them, kept in one row order. Mutated only under the retriever's lock.

Writes are entry by entry: an edited entry's texts leave the FAISS index by id and its new texts join
it; BM25, the row arrays and the word-piece IDF, whose statistics are global, are recomputed from the
texts' kept tokens and vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np

from kefu_core.encoding.tokens import TokenVectors
from knowledge_base import dense
from knowledge_base.documents import EntryDoc
from knowledge_base.encoder import Encoder
from knowledge_base.entry_classifier import EntryClassifier
from knowledge_base.lexical import LexicalIndex, tokenize
from knowledge_base.token_match import idf_table

# Word-piece vectors take about 7 KB per short text (float16): a language with more texts goes without.
TOKEN_MAX_TEXTS = 20_000

# texts, the language's text count once they are in -> their vectors and (where matched) word pieces
Embed = Callable[[list[str], int], tuple[np.ndarray, list[TokenVectors | None]]]


def matches_pieces(token_weight: float, texts: int, encoder: Encoder) -> bool:
    """Whether a language with this word-piece weight and this many texts matches word pieces."""
    return token_weight > 0 and texts <= TOKEN_MAX_TEXTS and encoder.supports_tokens


@dataclass
class TextDoc:
    """One indexed text (an entry's question or a variant)."""

    faq_id: str
    text: str
    vector: np.ndarray
    tokens: list[str]
    pieces: TokenVectors | None = None  # word-piece vectors, where the language matches them


@dataclass
class LanguageIndex:
    """One language's entries and texts."""

    dimension: int
    entries: dict[str, EntryDoc] = field(default_factory=dict)
    entry_docs: dict[str, list[int]] = field(default_factory=dict)
    entry_rows: dict[str, np.ndarray] = field(default_factory=dict)  # their rows in the lexical index
    docs: dict[int, TextDoc] = field(default_factory=dict)
    next_id: int = 0
    dense: faiss.Index | None = None
    kind: str = "flat"
    lexical: LexicalIndex | None = None
    lexical_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lexical_row: dict[int, int] = field(default_factory=dict)
    # Every text's vector in lexical-row order: an entry's dense score is the best of its rows.
    row_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    # Every text's word pieces in lexical-row order and their IDF, when this language matches them.
    row_pieces: list[TokenVectors] | None = None
    idf: np.ndarray | None = None
    classifier: EntryClassifier | None = None
    classifier_ids: list[str] = field(default_factory=list)  # the entry at each classifier position
    classifier_pos: dict[str, int] = field(default_factory=dict)  # and back
    # Per-entry held-out score distributions (`calibration.Calibration`) when open-intent abstention is on.
    calibration: Any = None
    generation: int = 0  # bumped on every change: a background classifier fit for an older one is dropped

    def add_entries(self, entries: Sequence[EntryDoc], embed: Embed, approx_above: int) -> None:
        """Index `entries`' texts (call `reindex_rows` after): new ids, and into the FAISS index."""
        texts: list[str] = []
        owners: list[str] = []
        for entry in entries:
            self.entries[entry.faq_id] = entry
            for text in entry.texts:
                texts.append(text)
                owners.append(entry.faq_id)
        vectors, pieces = embed(texts, len(self.docs) + len(texts))
        new_ids = np.arange(self.next_id, self.next_id + len(texts), dtype=np.int64)
        self.next_id += len(texts)
        for doc_id, text, owner, vector, piece in zip(
            new_ids.tolist(), texts, owners, vectors, pieces, strict=True
        ):
            self.docs[doc_id] = TextDoc(owner, text, vector, tokenize(text), piece)
            self.entry_docs.setdefault(owner, []).append(doc_id)
        wants_ivf = len(self.docs) > approx_above
        if self.dense is None or wants_ivf != (self.kind == "ivf"):
            self.build_dense(approx_above)
        elif len(texts):
            self.dense.add_with_ids(vectors, new_ids)

    def drop(self, faq_ids: set[str]) -> None:
        """Take entries and their texts out (call `reindex_rows` after)."""
        doc_ids: list[int] = []
        for faq_id in faq_ids:
            self.entries.pop(faq_id, None)
            self.entry_rows.pop(faq_id, None)
            for doc_id in self.entry_docs.pop(faq_id, []):
                self.docs.pop(doc_id, None)
                doc_ids.append(doc_id)
        if doc_ids and self.dense is not None:
            self.dense.remove_ids(np.asarray(doc_ids, dtype=np.int64))  # type: ignore[arg-type]

    def build_dense(self, approx_above: int) -> None:
        """A new FAISS index over every text (flat, or IVF above `approx_above` texts)."""
        ids = np.fromiter(self.docs.keys(), dtype=np.int64, count=len(self.docs))
        vectors = np.stack([d.vector for d in self.docs.values()]) if len(ids) else None
        self.dense, self.kind = dense.build(vectors, ids, self.dimension, approx_above)

    def reindex_rows(self) -> None:
        """After a change: the row order, BM25 over every text, the row vectors and each entry's rows."""
        self.generation += 1
        ids = list(self.docs)
        self.lexical_ids = np.asarray(ids, dtype=np.int64)
        self.lexical_row = {doc_id: row for row, doc_id in enumerate(ids)}
        self.lexical = LexicalIndex.from_tokens([self.docs[i].tokens for i in ids]) if ids else None
        self.row_vectors = (
            np.stack([self.docs[i].vector for i in ids]) if ids else np.zeros((0, self.dimension), np.float32)
        )
        self.entry_rows = {
            faq_id: np.asarray([self.lexical_row[d] for d in docs], dtype=np.int64)
            for faq_id, docs in self.entry_docs.items()
        }

    def keep_pieces(self, vocabulary: int | None) -> None:
        """Word pieces of every text in row order and their IDF (`vocabulary`: the encoder's), when every
        text has them; None lets them go. A language that went over TOKEN_MAX_TEXTS matches word pieces
        again from the next build (a restart or `kefu kb reindex`), not by embedding the whole base in an
        edit."""
        self.row_pieces, self.idf = None, None
        if vocabulary is None or not self.docs:
            for doc in self.docs.values():
                doc.pieces = None
            return
        row_pieces = [p for p in (self.docs[i].pieces for i in self.lexical_ids.tolist()) if p is not None]
        if len(row_pieces) == len(self.docs):
            self.row_pieces = row_pieces
            self.idf = idf_table(row_pieces, vocabulary)

    def install(self, classifier: EntryClassifier | None, order: list[str]) -> None:
        """Put a classifier (or none) in place with the entries its positions stand for."""
        self.classifier, self.classifier_ids = classifier, order
        self.classifier_pos = {faq_id: pos for pos, faq_id in enumerate(order)}
