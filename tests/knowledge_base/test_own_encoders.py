"""A language with its own sentence model (KEFU_EMBEDDING_MODEL_ZH), with fake encoders: no model loaded."""

from __future__ import annotations

from dataclasses import replace

from knowledge_base import unanswered
from knowledge_base.documents import EntryDoc
from knowledge_base.models import UnansweredQuestion
from knowledge_base.retriever import FaqRetriever
from knowledge_base.thresholds import DEFAULT_THRESHOLDS, OWN_ENCODER_THRESHOLDS, with_own_encoders
from tests.knowledge_base.fakes import HashEncoder

ENTRIES = [
    EntryDoc("ship", "How long does delivery take?", "3 days", "en", None, ("delivery time",)),
    EntryDoc("pwd", "How do I reset my password?", "Use the link", "en", None, ("forgot password",)),
    EntryDoc("ret", "退货需要多久？", "7 天内。", "zh", None, ("退货要几天",)),
    EntryDoc("fee", "运费多少钱？", "免运费。", "zh", None, ("邮费怎么算",)),
]


def _pair() -> tuple[HashEncoder, HashEncoder, FaqRetriever]:
    shared, chinese = HashEncoder(256), HashEncoder(32)
    retriever = FaqRetriever(shared, encoders={"zh": chinese})
    retriever.build(ENTRIES)
    return shared, chinese, retriever


def test_each_language_is_embedded_and_searched_with_its_own_model() -> None:
    shared, chinese, retriever = _pair()
    assert set(chinese.embedded) == {"退货需要多久？", "退货要几天", "运费多少钱？", "邮费怎么算"}
    assert not any("\u4e00" <= ch <= "\u9fff" for text in shared.embedded for ch in text)
    assert retriever.cache_for("zh").dimension == 32 and len(retriever.cache_for("zh")) == 4
    assert retriever.cache.dimension == 256 and len(retriever.cache) == 4
    assert retriever.vector_caches() == [retriever.cache, retriever.cache_for("zh")]

    assert retriever.search("退货几天", language="zh").results[0].faq_id == "ret"
    assert chinese.embedded[-1] == "退货几天"  # the question, by the Chinese model
    assert retriever.search("forgot my password", language="en").results[0].faq_id == "pwd"
    assert "forgot my password" in shared.queries + shared.embedded
    assert "forgot my password" not in chinese.queries + chinese.embedded


def test_edits_and_a_language_change_keep_each_model_to_its_language() -> None:
    _, chinese, retriever = _pair()
    retriever.upsert([EntryDoc("fee", "运费多少钱？", "免运费。", "zh", None, ("邮费怎么算", "包邮吗"))])
    assert chinese.embedded[-1:] == ["包邮吗"]
    assert retriever.search("包邮吗", language="zh").results[0].faq_id == "fee"
    # An entry moved from English to Chinese leaves the 256-dimension index and joins the 32-dimension one.
    retriever.upsert([EntryDoc("pwd", "忘记密码怎么办？", "点链接。", "zh", None, ())])
    assert "pwd" in retriever.entry_ids("zh") and "pwd" not in retriever.entry_ids("en")
    assert retriever.search("忘记密码怎么办", language="zh").results[0].faq_id == "pwd"
    retriever.remove({"ret", "fee", "pwd"})
    assert retriever.entry_ids("zh") == set()
    assert retriever.search("delivery time", language="en").results[0].faq_id == "ship"


def test_a_language_with_its_own_model_gets_its_weights_and_explicit_ones_win() -> None:
    _, _, retriever = _pair()
    assert retriever.thresholds["zh"] == OWN_ENCODER_THRESHOLDS["zh"]
    assert retriever.thresholds["en"] == DEFAULT_THRESHOLDS["en"]
    assert OWN_ENCODER_THRESHOLDS["zh"].dense_weight > DEFAULT_THRESHOLDS["zh"].dense_weight
    # Without an own model nothing changes: the very same table.
    assert FaqRetriever(HashEncoder()).thresholds is DEFAULT_THRESHOLDS
    assert with_own_encoders(DEFAULT_THRESHOLDS, ["en", "fr"]) is DEFAULT_THRESHOLDS
    mine = {**DEFAULT_THRESHOLDS, "zh": replace(DEFAULT_THRESHOLDS["zh"], answer=0.9)}
    assert FaqRetriever(HashEncoder(), mine, encoders={"zh": HashEncoder(32)}).thresholds is mine


def test_unanswered_questions_are_grouped_with_their_language_model() -> None:
    shared, chinese = HashEncoder(256), HashEncoder(32)
    items = [
        UnansweredQuestion(id=1, text="能分期吗", language="zh"),
        UnansweredQuestion(id=2, text="能分期吗", language="zh"),
        UnansweredQuestion(id=3, text="do you sell gift cards", language="en"),
    ]
    groups = unanswered.group(items, shared, {"zh": chinese})
    assert [(g["language"], g["count"]) for g in groups] == [("zh", 2), ("en", 1)]
    assert chinese.embedded == ["能分期吗", "能分期吗"] and shared.embedded == ["do you sell gift cards"]
