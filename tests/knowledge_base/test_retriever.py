"""Hybrid retrieval over the seeded demo knowledge base, with the real (offline) MiniLM model."""

from __future__ import annotations

import pytest

from kefu_core.encoding.embedder import Embedder
from knowledge_base.retriever import EntryDoc, FaqRetriever
from knowledge_base.service import SEED_FILE, read_jsonl

pytestmark = pytest.mark.integration  # the real model


@pytest.fixture(scope="module")
def retriever() -> FaqRetriever:
    rows = read_jsonl(SEED_FILE)
    built = FaqRetriever(Embedder())
    built.build(
        [
            EntryDoc(
                r["id"], r["question"], r["answer"], r["language"], r.get("category"), tuple(r["variants"])
            )
            for r in rows
        ]
    )
    return built


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("How long does delivery take?", "en", "en-shipping-01"),
        ("how many days until my package arrives", "en", "en-shipping-01"),
        ("退货需要多久?", "zh", "zh-returns-01"),
        ("退货大概要几天能处理完", "zh", "zh-returns-01"),
    ],
)
def test_answers_known_questions(retriever: FaqRetriever, query: str, language: str, expected: str) -> None:
    result = retriever.search(query, language=language, k=3)
    assert result.results[0].faq_id == expected
    assert result.decision == "answer"


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("Where is my order? It has been 10 days and nobody answers my emails", "en"),
        ("my order still hasn't shown up, it's been ages", "en"),
        ("我的订单怎么还没到啊", "zh"),
    ],
)
def test_where_is_my_order_is_order_status_not_the_confirmation_email(
    retriever: FaqRetriever, query: str, language: str
) -> None:
    # Issue 20's misreading: "emails" pulled the whole message to the order-confirmation-email entry.
    result = retriever.search(query, language=language)
    assert result.decision == "answer"
    assert result.results[0].faq_id == f"{language}-orders-03"


def test_unrelated_question_is_not_answered(retriever: FaqRetriever) -> None:
    result = retriever.search("What is the boiling point of tungsten on Mars?", language="en")
    assert result.decision == "none"


def test_languages_do_not_mix(retriever: FaqRetriever) -> None:
    result = retriever.search("退货需要多久?", language="zh", k=5)
    assert all(hit.faq_id.startswith("zh-") for hit in result.results)


def test_long_and_empty_queries(retriever: FaqRetriever) -> None:
    long = retriever.search("delivery time " * 400, language="en")
    assert long.results
    assert retriever.search("   ", language="en").decision == "none"
    assert retriever.search("hello", language="fr").results == []


def test_bad_k_fails_at_once(retriever: FaqRetriever) -> None:
    with pytest.raises(ValueError, match="k must be"):
        retriever.search("refund", language="en", k=0)


def test_a_large_base_retrains_its_classifier_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit does not wait for the classifier; searches skip it until the retrained one is in place."""
    import threading

    import knowledge_base.classifier_refit as refit_module

    monkeypatch.setattr(refit_module, "SYNC_CLASSIFIER_TEXTS", 2)
    built = FaqRetriever(Embedder())
    docs = [
        EntryDoc("ship", "How long does delivery take?", "3 days", "en", None, ("delivery time",)),
        EntryDoc("pay", "Which payment methods do you take?", "Cards", "en", None, ("can i pay by card",)),
    ]
    built.build(docs)  # a build fits at once, whatever the size
    assert built._indexes["en"].classifier is not None

    release = threading.Event()
    real_fit = refit_module.EntryClassifier.__init__

    def slow_fit(self: object, *args: object, **kwargs: object) -> None:
        release.wait(10)
        real_fit(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(refit_module.EntryClassifier, "__init__", slow_fit)
    built.upsert(
        [EntryDoc("pwd", "How do I reset my password?", "Use the link", "en", None, ("forgot password",))]
    )
    assert built._indexes["en"].classifier is None  # the edit returned before the fit
    during = built.search("i forgot my password", language="en")
    assert during.results[0].faq_id == "pwd"  # dense and lexical signals alone still find it
    release.set()
    built.wait_for_background(10)
    index = built._indexes["en"]
    assert index.classifier is not None and "pwd" in index.classifier_ids
    assert built.search("i forgot my password", language="en").results[0].faq_id == "pwd"
