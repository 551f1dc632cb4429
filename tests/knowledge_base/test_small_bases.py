"""Small and bare knowledge bases still decide (issue 20, bad input): one entry, entries without variants,
no entries, and a very long question (the fake encoder: no model loaded)."""

from __future__ import annotations

import pytest

from knowledge_base.decision import decide
from knowledge_base.documents import EntryDoc, SearchResult
from knowledge_base.lexical import LexicalIndex
from knowledge_base.retriever import DEFAULT_THRESHOLDS, MAX_QUERY_CHARS, FaqRetriever
from tests.knowledge_base.fakes import HashEncoder

DECISIONS = {"answer", "clarify", "none"}

BARE = [  # questions only, no variants
    EntryDoc("ship", "How long does delivery take?", "3 days", "en", "shipping"),
    EntryDoc("pay", "Which payment methods do you accept?", "Cards", "en", None),
    EntryDoc("pwd", "How do I reset my password?", "Use the link", "en", None),
    EntryDoc("ret", "退货需要多久？", "7 天内。", "zh", None),
    EntryDoc("fee", "运费多少钱？", "免运费。", "zh", None),
    EntryDoc("inv", "可以开发票吗？", "可以。", "zh", None),
]


def _built(entries: list[EntryDoc], encoder: HashEncoder | None = None) -> FaqRetriever:
    retriever = FaqRetriever(encoder or HashEncoder())
    retriever.build(entries)
    return retriever


def _valid(result: SearchResult, language: str) -> None:
    """A decision of the three, on scores ranked best first, that `decide` agrees with."""
    assert result.decision in DECISIONS
    scores = [hit.score for hit in result.results]
    assert scores == sorted(scores, reverse=True)
    assert result.decision == decide(scores, DEFAULT_THRESHOLDS[language])


@pytest.mark.parametrize(
    ("entry", "unrelated"),
    [
        (EntryDoc("only", "How long does delivery take?", "3 days", "en", None), "what colour is the moon"),
        (EntryDoc("only", "How long does delivery take?", "3 days", "en", None, ("shipping time",)), "hi"),
        (EntryDoc("only", "退货需要多久？", "7 天内。", "zh", None), "今天天气晴朗"),
        (EntryDoc("only", "退货需要多久？", "7 天内。", "zh", None), "运费多少钱？"),
        (EntryDoc("only", "退货需要多久？", "7 天内。", "zh", None, ("退货要几天",)), "发票怎么开"),
    ],
    ids=["en-bare", "en-variant", "zh-bare", "zh-bare-same-shop", "zh-variant"],
)
def test_a_base_of_one_entry_answers_its_question_and_not_others(entry: EntryDoc, unrelated: str) -> None:
    retriever = _built([entry])
    assert retriever.stats() == {entry.language: {"entries": 1, "texts": len(entry.texts), "index": "flat"}}
    own = retriever.search(entry.question, language=entry.language, k=3)
    assert own.decision == "answer"
    assert [hit.faq_id for hit in own.results] == ["only"]  # k=3 asks for more than there is
    _valid(own, entry.language)
    other = retriever.search(unrelated, language=entry.language, k=3)
    assert other.decision in {"none", "clarify"}
    _valid(other, entry.language)
    assert retriever.search(entry.question, language="zh" if entry.language == "en" else "en").results == []


def test_one_or_two_texts_score_by_overlap_where_bm25_has_no_idf() -> None:
    # Robertson's IDF is 0 or less for every term of one or two texts: BM25 alone scores all 0.
    one = LexicalIndex(["退货需要多久"])
    assert one.scores("退货需要多久").tolist() == [1.0]
    assert 0.0 < one.scores("退货要几天").tolist()[0] < 1.0
    assert one.scores("运费").tolist() == [0.0] and one.scores("   ").tolist() == [0.0]
    two = LexicalIndex(["refund policy", "delivery times"])
    assert two.scores("refund policy").tolist() == [1.0, 0.0]
    assert two.scores("delivery refund").tolist() == [0.5, 0.5]
    three = LexicalIndex(["refund policy", "delivery times", "password reset"])
    assert three.scores("refund zebra")[0] < 0.5  # BM25 as before: the unseen word counts in the ceiling


def test_a_base_of_one_entry_survives_edits_down_to_nothing() -> None:
    retriever = _built([EntryDoc("a", "How long does delivery take?", "3 days", "en", None)])
    retriever.upsert([EntryDoc("b", "How do I reset my password?", "Use the link", "en", None)])
    retriever.wait_for_background(10)
    assert retriever.search("reset my password", language="en").results[0].faq_id == "b"
    retriever.remove(["a"])
    retriever.wait_for_background(10)
    alone = retriever.search("How do I reset my password?", language="en")
    assert alone.decision == "answer" and [hit.faq_id for hit in alone.results] == ["b"]
    retriever.remove(["b"])
    assert retriever.size == 0
    assert retriever.search("How do I reset my password?", language="en").decision == "none"


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("How long does delivery take?", "en", "ship"),
        ("reset my password", "en", "pwd"),
        ("which payment methods", "en", "pay"),
        ("退货需要多久？", "zh", "ret"),
        ("运费多少", "zh", "fee"),
        ("开发票", "zh", "inv"),
    ],
)
def test_entries_without_variants_are_found_by_their_question(
    query: str, language: str, expected: str
) -> None:
    retriever = _built(BARE)
    assert retriever.stats() == {
        "en": {"entries": 3, "texts": 3, "index": "flat"},
        "zh": {"entries": 3, "texts": 3, "index": "flat"},
    }
    result = retriever.search(query, language=language, k=3)
    assert result.results[0].faq_id == expected
    _valid(result, language)
    if query == next(e.question for e in BARE if e.faq_id == expected):
        assert result.decision == "answer"  # the entry's own words


@pytest.mark.parametrize(("query", "language"), [("what colour is the moon", "en"), ("今天天气晴朗", "zh")])
def test_entries_without_variants_do_not_answer_unrelated_questions(query: str, language: str) -> None:
    result = _built(BARE).search(query, language=language)
    assert result.decision in {"none", "clarify"}
    _valid(result, language)


def test_an_empty_base_decides_none_without_embedding() -> None:
    encoder = HashEncoder()
    retriever = _built([], encoder)
    assert retriever.size == 0 and retriever.stats() == {}
    for query, language in [("How long does delivery take?", "en"), ("退货需要多久？", "zh"), ("", "en")]:
        result = retriever.search(query, language=language)
        assert (result.decision, result.results) == ("none", [])
        assert result.took_ms >= 0
    assert encoder.queries == [] and encoder.embedded == []


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("How do I reset my password? " + "x" * 10_000, "en", "pwd"),
        ("运费多少钱？" + "啊" * 10_000, "zh", "fee"),
        ("password " * 1_250, "en", "pwd"),  # 10,000 characters
    ],
    ids=["en-padded", "zh-padded", "en-repeated"],
)
def test_a_10000_character_question_is_cut_and_decided(query: str, language: str, expected: str) -> None:
    encoder = HashEncoder()
    retriever = _built(BARE, encoder)
    before = len(encoder.embedded)
    result = retriever.search(query, language=language)
    _valid(result, language)
    assert result.results[0].faq_id == expected
    seen = encoder.queries[-1:] if language == "en" else encoder.embedded[before:]
    assert len(seen) == 1 and len(seen[0]) == MAX_QUERY_CHARS and query.startswith(seen[0])


def test_whitespace_questions_decide_none_on_a_small_base() -> None:
    retriever = _built(BARE[:1])
    for query in ["", "   ", "\n\t ", "\u3000"]:
        result = retriever.search(query, language="en")
        assert (result.decision, result.results) == ("none", [])
