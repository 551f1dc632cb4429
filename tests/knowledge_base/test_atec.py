"""ATEC as a retrieval benchmark on a tiny fake file in the source's layout (tab-separated, BOM, CRLF):
reading, paraphrase groups, the seeded sample, both lexical baselines and the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.atec import (
    FILE,
    jieba_words,
    paraphrase_groups,
    rank_bm25,
    rank_tfidf,
    read_pairs,
    run_atec,
    sample_groups,
    top_k_shares,
)
from knowledge_base.documents import EntryDoc
from knowledge_base.evaluate import EvalInputError, Query
from tests.knowledge_base.fakes import HashEncoder

ROWS = [
    ("花呗怎么还款", "花呗如何还钱", 1),
    ("花呗如何还钱", "怎样还花呗", 1),  # joins the first group: three members
    ("借呗额度怎么提升", "怎么提高借呗额度", 1),
    ("余额宝收益怎么算", "余额宝的收益如何计算", 1),
    ("花呗怎么还款", "借呗额度怎么提升", 0),  # label 0 joins nothing
    ("蚂蚁森林怎么浇水", "芝麻信用分怎么查", 0),  # only in a negative pair: in no group
    ("账户被冻结了怎么办", "账户冻结怎么解除", 1),
]


def write_atec(folder: Path, rows: list[tuple[str, str, int]] = ROWS) -> Path:
    """The source's bytes: a byte-order mark (also inside the first sentence), tabs, CRLF."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{n}\t{a}\t{b}\t{label}" for n, (a, b, label) in enumerate(rows, start=1)]
    lines[0] = lines[0].replace("\t", "\t\ufeff", 1)
    (folder / FILE).write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return folder


def test_read_pairs_strips_the_byte_order_marks(tmp_path: Path) -> None:
    pairs = read_pairs(write_atec(tmp_path) / FILE)
    assert pairs[0] == ("花呗怎么还款", "花呗如何还钱", 1)
    assert len(pairs) == len(ROWS) and pairs[4][2] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1\ta\tb\n", r"atec_nlp_sim_train.csv:1: expected 4 tab-separated fields"),
        ("1\ta\tb\t1\n2\ta,b,0\n", r":2: expected 4 tab-separated fields"),
        ("1\ta\tb\tyes\n", r":1: expected 4 tab-separated fields: id, s1, s2, label 0\|1"),
        ("1\t \tb\t1\n", r":1: empty sentence"),
        ("\n\n", r"no rows"),
    ],
)
def test_read_pairs_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / FILE).write_text(content, encoding="utf-8")
    with pytest.raises(EvalInputError, match=message):
        read_pairs(tmp_path / FILE)


def test_groups_are_connected_components_of_positive_pairs() -> None:
    groups = paraphrase_groups(ROWS)
    assert groups == [
        ("花呗怎么还款", "花呗如何还钱", "怎样还花呗"),
        ("借呗额度怎么提升", "怎么提高借呗额度"),
        ("余额宝收益怎么算", "余额宝的收益如何计算"),
        ("账户被冻结了怎么办", "账户冻结怎么解除"),
    ]
    # A later positive pair bridging two groups merges them.
    merged = paraphrase_groups([*ROWS, ("怎样还花呗", "怎么提高借呗额度", 1)])
    assert len(merged) == 3 and len(merged[0]) == 5


def test_sample_gives_one_entry_and_one_query_per_group() -> None:
    groups = paraphrase_groups(ROWS)
    entries, queries = sample_groups(groups, 3, seed=0)
    assert len(entries) == len(queries) == 3
    for entry, query in zip(entries, queries, strict=True):
        group = groups[int(entry.faq_id.removeprefix("atec-"))]
        assert query.expected_id == entry.faq_id and query.language == entry.language == "zh"
        assert sorted((entry.question, *entry.variants, query.text)) == sorted(group)  # every member once
        assert query.text not in entry.texts
    assert sample_groups(groups, 3, seed=0) == (entries, queries)
    assert {e.faq_id for e in sample_groups(groups, 4, seed=1)[0]} == {f"atec-{i:05d}" for i in range(4)}
    with pytest.raises(EvalInputError, match="asked for 5 groups but the file has only 4"):
        sample_groups(groups, 5, seed=0)
    with pytest.raises(ValueError, match="at least 1"):
        sample_groups(groups, 0, seed=0)


ENTRIES = [
    EntryDoc("repay", "花呗怎么还款", "", "zh", None, ("花呗还钱方法",)),
    EntryDoc("limit", "借呗额度怎么提升", "", "zh", None),
    EntryDoc("yield", "余额宝收益怎么算", "", "zh", None),
]
QUERIES = [
    Query("怎么提高借呗的额度", "limit", "zh"),
    Query("余额宝的收益如何计算", "yield", "zh"),
    Query("花呗还钱", "repay", "zh"),  # matches the variant best
]


@pytest.mark.parametrize("rank", [rank_tfidf, rank_bm25])
def test_baselines_rank_the_lexically_closest_entry_first(rank: object) -> None:
    rankings = rank(ENTRIES, QUERIES)  # type: ignore[operator]
    assert [r[0] for r in rankings] == ["limit", "yield", "repay"]
    assert all(len(r) == 3 and len(set(r)) == 3 for r in rankings)  # distinct entries, k = 3
    assert top_k_shares(rankings, QUERIES) == {"top1": 1.0, "top3": 1.0}


def test_top_k_shares() -> None:
    rankings = [("a", "b", "c"), ("c", "b", "a"), ("a", "c", "d")]
    queries = [Query("q", "a"), Query("q", "b"), Query("q", "b")]
    assert top_k_shares(rankings, queries) == {"top1": round(1 / 3, 4), "top3": round(2 / 3, 4)}


def test_jieba_words_drop_punctuation() -> None:
    words = jieba_words("花呗，怎么还款？ OK")
    assert "，" not in words and "？" not in words and "ok" in words


def test_run_atec_reports_kefu_beside_both_baselines(tmp_path: Path) -> None:
    data = write_atec(tmp_path / "atec")
    report = run_atec(data, seed=0, groups=4, embedder=HashEncoder(), progress=False)  # type: ignore[arg-type]
    assert (report["groups_in_file"], report["groups"], report["seed"]) == (4, 4, 0)
    assert report["texts_indexed"] == 5  # 4 questions and the three-member group's variant
    for method in ("kefu", "tfidf_char", "bm25_jieba"):
        assert 0 <= report[method]["top1"] <= report[method]["top3"] <= 1
    assert report["top1_ratio_vs_tfidf"] == round(report["kefu"]["top1"] / report["tfidf_char"]["top1"], 3)
    with pytest.raises(EvalInputError, match="no such folder"):
        run_atec(tmp_path / "missing", seed=0)
    with pytest.raises(EvalInputError, match="file not found"):
        run_atec(tmp_path, seed=0)
