"""Word-piece matching: the scores, the embedder's word-piece vectors, their store, the reordering."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import knowledge_base.index as index_module
from kefu_core.encoding.embedder import Embedder, shared_embedder
from kefu_core.encoding.tokens import TokenVectors, from_hidden
from knowledge_base.retriever import DEFAULT_THRESHOLDS, EntryDoc, FaqRetriever, Thresholds
from knowledge_base.token_match import idf_table, maxsim, query_weights
from knowledge_base.vector_cache import VectorCache, text_key


def _unit(*rows: list[float]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float16)


def test_from_hidden_drops_cls_and_sep_and_normalises() -> None:
    hidden = np.asarray([[9, 9], [3, 4], [0, 2], [7, 7], [5, 5]], dtype=np.float32)  # last row: padding
    doc = from_hidden(hidden, [101, 7, 8, 102])
    assert doc.ids.tolist() == [7, 8]
    assert doc.vectors.dtype == np.float16
    np.testing.assert_allclose(doc.vectors.astype(np.float32), [[0.6, 0.8], [0.0, 1.0]], atol=1e-3)


def test_rare_pieces_weigh_more_and_maxsim_takes_each_pieces_best_match() -> None:
    common, rare = 5, 9
    docs = [
        TokenVectors(np.asarray([common, rare], np.int32), _unit([1, 0], [0, 1])),
        TokenVectors(np.asarray([common], np.int32), _unit([1, 0])),
        TokenVectors(np.asarray([common], np.int32), _unit([1, 0])),
    ]
    idf = idf_table(docs, vocabulary=16)
    assert idf[rare] > idf[common] > 0
    query = TokenVectors(np.asarray([common, rare], np.int32), _unit([1, 0], [0, 1]))
    weights = query_weights(query, idf)
    assert weights.sum() == pytest.approx(1.0) and weights[1] > weights[0]
    scores = maxsim(query, weights, docs)
    assert scores[0] == pytest.approx(1.0, abs=1e-3)  # every piece met exactly
    assert scores[1] == pytest.approx(weights[0], abs=1e-3)  # only the common piece is met
    empty = TokenVectors(np.zeros(0, np.int32), np.zeros((0, 2), np.float16))
    assert maxsim(query, weights, [empty, docs[0]]).tolist()[0] == 0.0


@pytest.mark.integration
@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_word_piece_vectors_come_with_the_same_sentence_vectors(runtime: str) -> None:
    embedder = Embedder(runtime=runtime)
    texts = ["my card has not arrived yet", "hi", "退货需要多久？"]
    vectors, tokens = embedder.encode_tokens(texts)
    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-4)
    assert len(tokens) == 3
    assert 5 <= len(tokens[0].ids) <= 9 and len(tokens[1].ids) == 1  # [CLS] and [SEP] left out
    norms = np.linalg.norm(tokens[0].vectors.astype(np.float32), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-2)
    vector, pieces = embedder.encode_query(texts[0])
    np.testing.assert_allclose(vector[0], vectors[0], atol=1e-4)
    assert pieces.ids.tolist() == tokens[0].ids.tolist()
    assert embedder.encode_query(texts[0])[1] is pieces  # remembered


def test_word_pieces_are_stored_and_a_torn_record_is_cut_off(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        calls.append(texts)
        vectors = np.full((len(texts), 2), 0.5, np.float32)
        pieces = [
            TokenVectors(np.arange(len(t), dtype=np.int32), _unit(*[[1.0, float(i)] for i in range(len(t))]))
            for t in texts
        ]
        return vectors, pieces

    cache = VectorCache("m", 2, tmp_path)
    cache.vectors(["ab"], lambda texts: np.ones((len(texts), 2)))  # a vector stored before pieces were
    vectors, pieces, stats = cache.vectors_and_tokens(["ab", "xyz"], embed)
    assert calls == [["ab", "xyz"]] and stats.embedded == 2
    assert vectors[0].tolist() == [1.0, 1.0]  # the stored vector is kept: results do not move
    assert [p.ids.tolist() for p in pieces] == [[0, 1], [0, 1, 2]]
    store = tmp_path / "m" / "tokens.bin"
    whole = store.stat().st_size
    with store.open("ab") as fh:  # a crash mid-append: a whole header promising 3 pieces, half a body
        fh.write(text_key("torn") + np.asarray(3, "<u2").tobytes() + b"\x00" * 4 + b"\x01" * 7)
    again = VectorCache("m", 2, tmp_path)
    _, reloaded, stats = again.vectors_and_tokens(["xyz", "ab"], embed)
    assert stats.embedded == 0 and len(calls) == 1
    np.testing.assert_array_equal(reloaded[0].vectors, pieces[1].vectors)
    assert store.stat().st_size == whole  # cut back: the next append lines up
    again.vectors_and_tokens(["later"], embed)
    _, later, stats = VectorCache("m", 2, tmp_path).vectors_and_tokens(["later", "ab"], embed)
    assert stats.embedded == 0 and later[0].ids.tolist() == [0, 1, 2, 3, 4]
    again.clear()
    assert not store.exists()


def test_a_damaged_word_piece_record_is_not_trusted(tmp_path: Path) -> None:
    def embed(texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        return np.ones((len(texts), 2), np.float32), [
            TokenVectors(np.asarray([7], np.int32), _unit([1, 0])) for _ in texts
        ]

    VectorCache("m", 2, tmp_path).vectors_and_tokens(["a", "b"], embed)
    store = tmp_path / "m" / "tokens.bin"
    raw = bytearray(store.read_bytes())
    raw[-1] ^= 0xFF  # the last record's vector changed on disk
    store.write_bytes(bytes(raw))
    _, _, stats = VectorCache("m", 2, tmp_path).vectors_and_tokens(["a", "b"], embed)
    assert (stats.reused, stats.embedded) == (1, 1)  # "b" is embedded again, not misread


def _entries() -> list[EntryDoc]:
    return [
        EntryDoc(
            "arrival",
            "Card arrival",
            "It arrives in 3-5 days.",
            "en",
            None,
            ("My card has not arrived yet", "When will my new card come?", "still waiting for my card"),
        ),
        EntryDoc(
            "broken",
            "Card not working",
            "Try another terminal.",
            "en",
            None,
            ("My card does not work", "the card keeps being declined", "card stopped working"),
        ),
        EntryDoc("zh", "退货需要多久？", "7 天内。", "zh", None, ("多久能退货",)),
    ]


@pytest.mark.integration
def test_pieces_are_kept_for_english_only_and_not_above_the_size_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    retriever = FaqRetriever(shared_embedder())
    retriever.build(_entries())
    english, chinese = retriever._indexes["en"], retriever._indexes["zh"]
    assert english.row_pieces is not None and len(english.row_pieces) == len(english.docs)
    assert chinese.row_pieces is None  # token_weight 0: MiniLM reads few Chinese characters
    assert retriever.search("my card never arrived", language="en").results[0].faq_id == "arrival"
    monkeypatch.setattr(index_module, "TOKEN_MAX_TEXTS", len(english.docs))
    extra = EntryDoc("pin", "Change my PIN", "In the app.", "en", None, ("new pin please",))
    retriever.upsert([extra])
    over = retriever._indexes["en"]
    assert over.row_pieces is None  # over the limit: no word pieces, none kept in memory either
    assert all(doc.pieces is None for doc in over.docs.values())
    assert retriever.search("my card never arrived", language="en").results[0].faq_id == "arrival"
    retriever.remove(["pin"])
    assert retriever._indexes["en"].row_pieces is None  # back under it: from the next build, not in an edit
    retriever.build(_entries())
    assert retriever._indexes["en"].row_pieces is not None


@pytest.mark.integration
def test_word_pieces_reorder_close_calls_and_the_leader_keeps_its_score() -> None:
    query = "the card I ordered never came"
    on = FaqRetriever(shared_embedder())
    off = FaqRetriever(
        shared_embedder(), {**DEFAULT_THRESHOLDS, "en": replace(DEFAULT_THRESHOLDS["en"], token_weight=0.0)}
    )
    for retriever in (on, off):
        retriever.build(_entries())
    plain = off.search(query, language="en", k=2).results
    matched = on.search(query, language="en", k=2).results
    assert {h.faq_id for h in plain} == {h.faq_id for h in matched}
    # Scores move by the word-piece margin to the fused leader, which keeps its own score.
    fused = {h.faq_id: h.score for h in plain}
    moved = {h.faq_id: h.score for h in matched}
    assert matched[0].faq_id == "arrival"
    leader, other = plain[0].faq_id, plain[1].faq_id
    assert moved[leader] == pytest.approx(fused[leader], abs=1e-4)
    assert abs(moved[other] - fused[other]) > 1e-3
    assert Thresholds().token_weight == 0.0  # off unless a language asks for it
