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
