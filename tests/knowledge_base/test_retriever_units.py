"""FaqRetriever with the fake encoder: writes entry by entry, searches, languages (no model loaded)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from knowledge_base.decision import decide
from knowledge_base.documents import EntryDoc
from knowledge_base.retriever import DEFAULT_THRESHOLDS, MAX_QUERY_CHARS, FaqRetriever
from tests.knowledge_base.fakes import HashEncoder

ENTRIES = [
    EntryDoc("ship", "How long does delivery take?", "3 days", "en", "shipping", ("delivery time",)),
    EntryDoc("pay", "Which payment methods do you take?", "Cards", "en", None, ("can i pay by card",)),
    EntryDoc("pwd", "How do I reset my password?", "Use the link", "en", None, ("forgot password",)),
    EntryDoc("ret", "退货需要多久？", "7 天内。", "zh", None, ("退货要几天",)),
    EntryDoc("fee", "运费多少钱？", "免运费。", "zh", None, ("邮费怎么算",)),
]


@pytest.fixture()
def encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture()
def retriever(encoder: HashEncoder) -> FaqRetriever:
    built = FaqRetriever(encoder)
    built.build(ENTRIES)
    return built


def test_a_search_ranks_within_its_language_and_decides_on_the_scores(retriever: FaqRetriever) -> None:
    result = retriever.search("forgot my password", language="en", k=2)
    assert [h.faq_id for h in result.results][:1] == ["pwd"]
    assert len(result.results) == 2 and result.results[0].score >= result.results[1].score
    assert result.decision == decide([h.score for h in result.results], DEFAULT_THRESHOLDS["en"])
    hit = retriever.search("delivery time", language="en").results[0]
    assert (hit.faq_id, hit.question, hit.answer, hit.category) == (
        "ship", "How long does delivery take?", "3 days", "shipping"
    )  # fmt: skip
    zh = retriever.search("退货几天", language="zh", k=5)
    assert zh.results[0].faq_id == "ret" and {h.faq_id for h in zh.results} <= {"ret", "fee"}
    assert retriever.stats() == {
        "en": {"entries": 3, "texts": 6, "index": "flat"},
        "zh": {"entries": 2, "texts": 4, "index": "flat"},
    }
    assert retriever.size == 5 and retriever.entry_ids("zh") == {"ret", "fee"}


def test_nothing_to_search_is_none_without_embedding(retriever: FaqRetriever, encoder: HashEncoder) -> None:
    before = len(encoder.batches), len(encoder.queries)
    assert retriever.search("   ", language="en").decision == "none"
    unknown = retriever.search("bonjour", language="fr")
    assert unknown.decision == "none" and unknown.results == []
    assert (len(encoder.batches), len(encoder.queries)) == before
    with pytest.raises(ValueError, match="k must be"):
        retriever.search("refund", language="en", k=0)


def test_english_questions_come_with_word_pieces_and_are_cut_to_length(
    retriever: FaqRetriever, encoder: HashEncoder
) -> None:
    retriever.search("delivery " * 300, language="en")
    assert len(encoder.queries[-1]) == MAX_QUERY_CHARS
    queries = len(encoder.queries)
    retriever.search("退货", language="zh")  # Chinese matches no word pieces: a plain vector
    assert len(encoder.queries) == queries and encoder.batches[-1] == ["退货"]


def test_an_encoder_without_word_pieces_still_serves_english() -> None:
    encoder = HashEncoder(supports_tokens=False)
    retriever = FaqRetriever(encoder)
    retriever.build(ENTRIES)
    assert retriever._indexes["en"].row_pieces is None
    assert retriever.search("forgot my password", language="en").results[0].faq_id == "pwd"
    assert encoder.queries == []


def test_an_edit_embeds_only_new_texts_and_replaces_the_old_ones(
    retriever: FaqRetriever, encoder: HashEncoder
) -> None:
    seen = len(encoder.embedded)
    edited = replace(ENTRIES[0], variants=("delivery time", "is my parcel carried by a llama"))
    retriever.upsert([edited])
    assert encoder.embedded[seen:] == ["is my parcel carried by a llama"]
    assert retriever.search("carried by a llama", language="en").results[0].faq_id == "ship"
    retriever.upsert([replace(edited, variants=())])
    assert retriever.stats()["en"]["texts"] == 5  # both variants gone
    index = retriever._indexes["en"]
    assert [index.docs[d].text for d in index.entry_docs["ship"]] == ["How long does delivery take?"]
    assert [index.docs[int(d)].faq_id for d in index.lexical_ids].count("ship") == 1


def test_an_entry_that_changes_language_moves_and_an_emptied_language_goes(retriever: FaqRetriever) -> None:
    retriever.upsert([replace(ENTRIES[0], language="zh")])
    assert "ship" in retriever.entry_ids("zh") and "ship" not in retriever.entry_ids("en")
    retriever.remove(["ret", "fee", "ship"])
    assert "zh" not in retriever.stats() and retriever.size == 2
    assert retriever.search("退货", language="zh").results == []
    retriever.remove(["nothing-like-it"])  # unknown ids are ignored
    assert retriever.size == 2


def test_a_build_replaces_everything(retriever: FaqRetriever) -> None:
    retriever.build(ENTRIES[3:])
    assert set(retriever.stats()) == {"zh"} and retriever.size == 2
