"""ATEC (Ant Financial customer-service question pairs) as a Chinese FAQ-retrieval benchmark.

Paraphrase groups are the connected components of the label-1 pairs (union-find over identical
sentences). A sampled group becomes one entry (a member as its question, the rest but one as its
variants) and one query (the last member). Two lexical baselines are measured on the same groups:
character TF-IDF nearest neighbour and BM25 over jieba words. The data is evaluation only: read from
a folder outside the repository, never copied, never trained on.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import bm25s
import jieba
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from kefu_core.encoding.embedder import Embedder
from knowledge_base.documents import EntryDoc
from knowledge_base.encoder import Encoder
from knowledge_base.evaluate import EvalInputError, Query, evaluate

jieba.setLogLevel(logging.WARNING)

FILE = "atec_nlp_sim_train.csv"
TFIDF_NGRAMS = (1, 2)  # character unigrams and bigrams
_WORD = re.compile(r"\w")  # a jieba token counts as a word when it has a letter, digit or Han character

Ranker = Callable[[Sequence[EntryDoc], Sequence[Query], int], list[tuple[str, ...]]]


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    """(sentence1, sentence2, label) of the tab-separated file (id, s1, s2, label; UTF-8 with BOM)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalInputError(f"{path}: file not found (is --data the atec folder?)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: cannot read: {exc}") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4 or fields[3].strip() not in ("0", "1"):
            raise EvalInputError(f"{path}:{number}: expected 4 tab-separated fields: id, s1, s2, label 0|1")
        # The source file also has a byte-order mark inside its first sentence.
        first, second = (f.replace("\ufeff", "").strip() for f in fields[1:3])
        if not first or not second:
            raise EvalInputError(f"{path}:{number}: empty sentence")
        pairs.append((first, second, int(fields[3])))
    if not pairs:
        raise EvalInputError(f"{path}: no rows")
    return pairs


def paraphrase_groups(pairs: Sequence[tuple[str, str, int]]) -> list[tuple[str, ...]]:
    """Connected components of the label-1 pairs, each with its distinct sentences in order of appearance."""
    parent: dict[str, str] = {}

    def root(sentence: str) -> str:
        parent.setdefault(sentence, sentence)
        while parent[sentence] != sentence:
            parent[sentence] = parent[parent[sentence]]  # path halving keeps the trees flat
            sentence = parent[sentence]
        return sentence

    for first, second, label in pairs:
        if label == 1:
            a, b = root(first), root(second)
            if a != b:
                parent[b] = a
    groups: dict[str, list[str]] = {}
    for sentence in parent:  # dicts keep insertion order: first appearance in the file
        groups.setdefault(root(sentence), []).append(sentence)
    return [tuple(members) for members in groups.values() if len(members) > 1]


def sample_groups(
    groups: Sequence[tuple[str, ...]], count: int, seed: int
) -> tuple[list[EntryDoc], list[Query]]:
    """`count` groups drawn with `seed`; each gives one entry and one query (members shuffled first)."""
    if count < 1:
        raise ValueError("the number of groups must be at least 1")
    if count > len(groups):
        raise EvalInputError(f"asked for {count} groups but the file has only {len(groups)}")
    rng = random.Random(seed)
    entries, queries = [], []
    for index in sorted(rng.sample(range(len(groups)), count)):
        members = list(groups[index])
        rng.shuffle(members)
        faq_id = f"atec-{index:05d}"
        question, *variants, query = members
        entries.append(EntryDoc(faq_id, question, question, "zh", None, tuple(variants)))
        queries.append(Query(query, faq_id, "zh"))
    return entries, queries


def _texts(entries: Sequence[EntryDoc]) -> tuple[list[str], np.ndarray]:
    texts, owners = [], []
    for number, entry in enumerate(entries):
        for text in entry.texts:
            texts.append(text)
            owners.append(number)
    return texts, np.asarray(owners)


def _top_entries(
    scores: np.ndarray, owners: np.ndarray, entries: Sequence[EntryDoc], k: int
) -> list[tuple[str, ...]]:
    """Per query row of text scores: the k best entries, an entry scoring as its best text."""
    best = np.full((scores.shape[0], len(entries)), -np.inf, dtype=np.float64)
    for column, owner in enumerate(owners):
        np.maximum(best[:, owner], scores[:, column], out=best[:, owner])
    order = np.argsort(-best, axis=1, kind="stable")[:, :k]
    return [tuple(entries[i].faq_id for i in row) for row in order]


def rank_tfidf(entries: Sequence[EntryDoc], queries: Sequence[Query], k: int = 3) -> list[tuple[str, ...]]:
    """Character TF-IDF (uni- and bigrams, fitted on the entries' texts), cosine nearest neighbour."""
    texts, owners = _texts(entries)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=TFIDF_NGRAMS, sublinear_tf=True)
    documents = vectorizer.fit_transform(texts)
    scores = (vectorizer.transform([q.text for q in queries]) @ documents.T).toarray()
    return _top_entries(scores, owners, entries, k)


def jieba_words(text: str) -> list[str]:
    """jieba's words of `text`, lower-cased, without whitespace and punctuation."""
    return [w for w in jieba.lcut(text.lower()) if _WORD.search(w)]


def rank_bm25(entries: Sequence[EntryDoc], queries: Sequence[Query], k: int = 3) -> list[tuple[str, ...]]:
    """Okapi BM25 (bm25s defaults: k1 1.5, b 0.75) over jieba words; each text a document."""
    texts, owners = _texts(entries)
    index = bm25s.BM25()
    # bm25s needs one token per document: a text with no word gets a placeholder.
    index.index([jieba_words(t) or ["\x00"] for t in texts], show_progress=False)
    scores = np.zeros((len(queries), len(texts)), dtype=np.float64)
    for row, query in enumerate(queries):
        ids = index.get_tokens_ids(jieba_words(query.text))
        if ids:
            scores[row] = index.get_scores_from_ids(ids)
    return _top_entries(scores, owners, entries, k)


def top_k_shares(rankings: Sequence[tuple[str, ...]], queries: Sequence[Query]) -> dict[str, float]:
    """top1 and top3: share of queries whose expected entry is first, or among the first three."""
    top1 = sum(r[:1] == (q.expected_id,) for r, q in zip(rankings, queries, strict=True))
    top3 = sum(q.expected_id in r[:3] for r, q in zip(rankings, queries, strict=True))
    return {"top1": round(top1 / len(queries), 4), "top3": round(top3 / len(queries), 4)}


def run_atec(
    data_dir: Path,
    *,
    seed: int,
    groups: int = 2000,
    embedder: Embedder | None = None,
    progress: bool = True,
    encoders: Mapping[str, Encoder] | None = None,
) -> dict[str, Any]:
    """kefu's top-1/top-3 on `groups` sampled paraphrase groups, beside both baselines on the same groups."""
    if not data_dir.is_dir():
        raise EvalInputError(f"{data_dir}: no such folder (is --data the atec folder?)")
    all_groups = paraphrase_groups(read_pairs(data_dir / FILE))
    entries, queries = sample_groups(all_groups, groups, seed)
    report = evaluate(entries, queries, embedder, progress=progress, encoders=encoders)
    kefu = {key: report[key] for key in ("top1", "top3", "in_scope_accuracy", "decisions", "latency_ms")}
    tfidf = top_k_shares(rank_tfidf(entries, queries), queries)
    bm25 = top_k_shares(rank_bm25(entries, queries), queries)
    return {
        "groups_in_file": len(all_groups),
        "groups": groups,
        "seed": seed,
        "texts_indexed": sum(len(e.texts) for e in entries),
        "kefu": kefu,
        "tfidf_char": {**tfidf, "ngrams": list(TFIDF_NGRAMS)},
        "bm25_jieba": bm25,
        "top1_ratio_vs_tfidf": round(kefu["top1"] / tfidf["top1"], 3) if tfidf["top1"] else None,
    }
