"""The hand-made signals beside the embedding: VADER's summed valences (en) and jieba's words (zh)."""

from __future__ import annotations

import numpy as np

from sentiment.features import N_EN, chinese_words, english_features, vader_sums


def test_vader_sums_keep_how_much_was_said() -> None:
    one = vader_sums("the delivery was awful")
    three = vader_sums("awful, terrible and rude delivery")
    # negative grows with every negative word; no positive word, so the net is the negative part reversed
    assert 0 < one[1] < three[1] < 1
    assert one[0] == 0 and three[0] == 0
    assert np.isclose(three[2], -three[1])


def test_a_negated_word_counts_half_with_its_sign_flipped() -> None:
    plain, negated = vader_sums("it is good"), vader_sums("it is not good")
    assert plain[0] > 0 and plain[1] == 0
    assert negated[0] == 0 and 0 < negated[1] < plain[0]
    # the negation ends with the clause: "but fine" counts as positive again
    assert vader_sums("not good, but fine")[0] > 0


def test_english_features_have_the_declared_width() -> None:
    assert english_features("thanks a lot 😊").shape == (N_EN,)


def test_chinese_words_are_jieba_words_without_blanks() -> None:
    words = chinese_words("房间 很干净，服务态度好 OK")
    assert words[:3] == ["房间", "很", "干净"]
    assert "ok" in words and all(w.strip() for w in words)


def test_tfidf_scores_equal_sklearn_transform() -> None:
    from sentiment.model import _char_vectorizer, _word_vectorizer, tfidf_scores

    train = ["房间很干净，服务好", "太吵了，房间很小", "not bad at all", "never again, awful", "ok"]
    texts = ["房间干净 但是 太吵", "awful awful service, not good", "🙂", "完全陌生的字"]
    coef = np.random.default_rng(0).normal(size=(3, 10_000))
    vectorizers = [_word_vectorizer("en", (1, 2)), _word_vectorizer("zh", (1, 1)), _char_vectorizer((1, 3))]
    for vectorizer in vectorizers:
        vectorizer.fit(train)
        block = coef[:, : len(vectorizer.vocabulary_)]
        expected = np.asarray(vectorizer.transform(texts) @ block.T)
        assert np.abs(expected).sum() > 0  # the texts share n-grams with the training texts
        np.testing.assert_allclose(tfidf_scores(vectorizer, texts, block), expected, atol=1e-12)
