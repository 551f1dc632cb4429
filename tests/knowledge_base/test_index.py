"""One language's index: rows, FAISS (flat or IVF), word pieces, and the classifier refits."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from kefu_core.encoding.tokens import TokenVectors
from knowledge_base import classifier_refit
from knowledge_base import index as index_module
from knowledge_base.classifier_refit import ClassifierRefits
from knowledge_base.documents import EntryDoc
from knowledge_base.index import Embed, LanguageIndex, matches_pieces
from knowledge_base.token_match import idf_table
from tests.knowledge_base.fakes import HashEncoder


def _entry(faq_id: str, question: str, *variants: str, language: str = "en") -> EntryDoc:
    return EntryDoc(faq_id, question, f"answer {faq_id}", language, None, variants)


def _build(
    encoder: HashEncoder, entries: list[EntryDoc], *, approx_above: int = 1000, with_pieces: bool = False
) -> LanguageIndex:
    index = LanguageIndex(dimension=encoder.dimension)
    index.add_entries(entries, _embedder(encoder, with_pieces), approx_above)
    index.reindex_rows()
    return index


def _embedder(encoder: HashEncoder, with_pieces: bool) -> Embed:
    def embed(texts: list[str], total: int) -> tuple[np.ndarray, list[TokenVectors | None]]:
        if with_pieces:
            vectors, found = encoder.encode_tokens(texts)
            return vectors, list(found)
        return encoder.encode(texts), [None] * len(texts)

    return embed


def test_rows_hold_every_text_once_in_one_order() -> None:
    encoder = HashEncoder()
    entries = [
        _entry("ship", "How long does delivery take?", "delivery time", "How long does delivery take?"),
        _entry("pay", "Which payment methods?", "pay by card"),
    ]
    index = _build(encoder, entries)
    assert len(index.docs) == 4  # the repeated question once
    assert index.lexical is not None and index.lexical.n_docs == 4
    for faq_id, entry in zip(("ship", "pay"), entries, strict=True):
        rows = index.entry_rows[faq_id]
        assert [index.docs[int(index.lexical_ids[r])].text for r in rows] == entry.texts
        np.testing.assert_allclose(index.row_vectors[rows], encoder.encode(entry.texts), atol=1e-6)
    lexical = index.lexical.scores("pay by card")
    assert int(lexical.argmax()) == int(index.entry_rows["pay"][1])


def test_a_dropped_entry_leaves_faiss_and_the_rows() -> None:
    encoder = HashEncoder()
    index = _build(
        encoder, [_entry("a", "cancel my order", "stop the order"), _entry("b", "track my parcel")]
    )
    assert index.dense is not None and index.dense.ntotal == 3
    index.drop({"a"})
    index.reindex_rows()
    assert index.dense.ntotal == 1 and set(index.entries) == {"b"} and set(index.entry_rows) == {"b"}
    _, ids = index.dense.search(encoder.encode(["cancel my order"]), 1)
    assert index.docs[int(ids[0][0])].faq_id == "b"
    index.add_entries([_entry("a", "cancel my order")], _embedder(encoder, False), 1000)
    index.reindex_rows()
    assert index.next_id == 4 and index.entry_docs["a"] == [3]  # ids are never reused


def test_a_large_language_switches_to_ivf_at_its_next_write() -> None:
    encoder = HashEncoder(dimension=32)
    entries = [_entry(f"e{i}", f"question {i} parcel", f"variant {i} refund") for i in range(60)]
    index = _build(encoder, entries, approx_above=100)  # 120 texts
    assert index.kind == "ivf"
    gc.collect()  # searched after the builder returned: the IVF index keeps its quantizer alive
    _, ids = index.dense.search(encoder.encode(["question 7 parcel"]), 1)  # type: ignore[union-attr]
    assert index.docs[int(ids[0][0])].faq_id == "e7"
    index.drop({f"e{i}" for i in range(30)})
    assert index.kind == "ivf"  # a removal alone does not rebuild
    index.add_entries([_entry("new", "where is my llama")], _embedder(encoder, False), 100)
    assert index.kind == "flat" and index.dense.ntotal == 61


def test_word_pieces_are_kept_only_when_every_text_has_them() -> None:
    encoder = HashEncoder()
    index = _build(
        encoder, [_entry("a", "cancel my order", "stop it"), _entry("b", "track it")], with_pieces=True
    )
    index.keep_pieces(encoder.vocabulary)
    assert index.row_pieces is not None and len(index.row_pieces) == 3
    assert [p.ids.tolist() for p in index.row_pieces] == [
        index.docs[int(d)].pieces.ids.tolist()  # type: ignore[union-attr]
        for d in index.lexical_ids
    ]
    np.testing.assert_array_equal(index.idf, idf_table(index.row_pieces, encoder.vocabulary))
    index.docs[int(index.lexical_ids[0])].pieces = None  # e.g. a text embedded before pieces were wanted
    index.keep_pieces(encoder.vocabulary)
    assert index.row_pieces is None and index.idf is None
    index.keep_pieces(None)
    assert all(doc.pieces is None for doc in index.docs.values())  # let go, not kept in memory


def test_which_languages_match_word_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = HashEncoder()
    assert matches_pieces(1.0, 10, encoder)
    assert not matches_pieces(0.0, 10, encoder)
    assert not matches_pieces(1.0, 10, HashEncoder(supports_tokens=False))
    monkeypatch.setattr(index_module, "TOKEN_MAX_TEXTS", 9)
    assert not matches_pieces(1.0, 10, encoder)


ZH = [
    _entry("ret", "退货需要多久", "退货要几天", language="zh"),
    _entry("fee", "运费多少钱", "邮费怎么算", language="zh"),
    _entry("pwd", "怎么修改密码", "忘记密码了", language="zh"),
]


def test_a_classifier_is_fitted_only_where_it_has_weight_and_room() -> None:
    refits = ClassifierRefits(threading.RLock())
    index = _build(HashEncoder(), ZH)
    refits.refit("zh", index, 0.5)
    assert index.classifier is not None and index.classifier_ids == ["ret", "fee", "pwd"]
    assert index.classifier_pos == {"ret": 0, "fee": 1, "pwd": 2}
    assert int(index.classifier.probabilities("密码忘了").argmax()) == index.classifier_pos["pwd"]
    refits.refit("zh", index, 0.0)
    assert index.classifier is None and index.classifier_ids == []  # no weight: the old one is dropped
    refits.refit("fr", index, 0.5)
    assert index.classifier is None  # a language without limits gets none
    single = _build(HashEncoder(), ZH[:1])
    refits.refit("zh", single, 0.5)
    assert single.classifier is None  # one entry: nothing to tell apart


def test_a_background_fit_is_installed_only_if_nothing_changed_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(classifier_refit, "SYNC_CLASSIFIER_TEXTS", 2)
    release = threading.Event()
    real = classifier_refit.EntryClassifier

    def slow(*args: object, **kwargs: object) -> object:
        release.wait(10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(classifier_refit, "EntryClassifier", slow)
    refits = ClassifierRefits(threading.RLock())
    index = _build(HashEncoder(), ZH)
    refits.refit("zh", index, 0.5, background=True)
    assert index.classifier is None  # returned before the fit
    index.reindex_rows()  # another change came in meanwhile
    release.set()
    refits.wait(10)
    assert index.classifier is None  # fitted for an older state: dropped
    refits.refit("zh", index, 0.5, background=True)
    refits.wait(10)
    assert index.classifier is not None and index.classifier_ids == ["ret", "fee", "pwd"]
    refits.refit("zh", index, 0.5)  # not an edit: fitted at once, whatever the size
    assert index.classifier is not None
