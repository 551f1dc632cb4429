"""The lexical signal: tokens for BM25 and scores scaled to the query's ceiling."""

from __future__ import annotations

from knowledge_base.lexical import LexicalIndex, tokenize


def test_tokenize_mixes_words_and_bigrams() -> None:
    tokens = tokenize("我的order到哪了? Where is it")
    assert "order" in tokens
    assert "where" not in tokens  # stop word
    assert any(len(t) == 2 and "\u4e00" <= t[0] <= "\u9fff" for t in tokens)


def test_lexical_scores_are_scaled_to_the_query_ceiling() -> None:
    index = LexicalIndex(["refund policy", "delivery times", "password reset"])
    exact = index.scores("refund policy")
    assert exact.argmax() == 0
    assert 0.9 <= exact[0] <= 1.0
    assert index.scores("zebra").max() == 0.0
