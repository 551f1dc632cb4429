"""The character-n-gram classifier used for Chinese."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.char_classifier import CharClassifier
from knowledge_base.retriever import DEFAULT_THRESHOLDS


def test_ranks_a_chinese_paraphrase_to_its_entry() -> None:
    texts = ["退货需要多久", "退货要几天", "运费多少钱", "邮费怎么算", "怎么修改密码", "忘记密码了"]
    owners = np.array([0, 0, 1, 1, 2, 2])
    clf = CharClassifier(texts, owners, 3)
    probs = clf.probabilities("退货大概几天")
    assert probs.shape == (3,)
    assert int(probs.argmax()) == 0
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert int(clf.probabilities("密码忘了怎么办").argmax()) == 2


def test_needs_two_entries() -> None:
    with pytest.raises(ValueError, match="two entries"):
        CharClassifier(["a"], np.array([0]), 1)


def test_only_chinese_uses_it_by_default() -> None:
    assert DEFAULT_THRESHOLDS["zh"].classifier_weight > 0
    assert DEFAULT_THRESHOLDS["en"].classifier_weight == 0
