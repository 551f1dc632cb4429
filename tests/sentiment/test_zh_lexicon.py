"""The Chinese lexicon's negation scope: across degree words ("不是很满意"), and 特别 is no negator."""

from __future__ import annotations

import pytest

from sentiment.zh_lexicon import _clause_score, lexicon_features

POSITIVE_HIT, NEGATIVE_HIT = (1, 0), (0, 1)


@pytest.mark.parametrize(
    "clause",
    [
        "不是很满意",
        "不太满意",
        "不算愉快",
        "没那么方便",
        "不够及时",
        "不会再来了",
        "没有想象中那么好看",
        "很不满意",
    ],
)
def test_negated_praise_counts_as_negative(clause: str) -> None:
    assert _clause_score(clause) == NEGATIVE_HIT


@pytest.mark.parametrize("clause", ["一点都不慢", "没什么毛病", "不是太贵", "完全不差", "退货一点都不麻烦"])
def test_negated_complaints_count_as_positive(clause: str) -> None:
    assert _clause_score(clause) == POSITIVE_HIT


@pytest.mark.parametrize("clause", ["特别满意", "服务特别热情", "非常满意", "服务不错很满意"])
def test_praise_without_a_negator_stays_positive(clause: str) -> None:
    # 特别 ends in 别 and 非常 starts with 非: neither is a negation.
    pos, neg = _clause_score(clause)
    assert pos > 0 and neg == 0


def test_negated_praise_next_to_a_complaint_is_negative_overall() -> None:
    features = lexicon_features("不是很满意，包装破了")
    assert features[1] > 0 and features[0] == 0  # log negative hits, log positive hits
    assert features[2] == -1.0 and features[7] == 1.0  # net polarity, negative > positive
