"""Open-intent abstention (issue 20, item 2; docs/decisions/0010): per-entry calibrated evidence, off by
default (the fake encoder: no model loaded)."""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace

import numpy as np
import pytest

from kefu.kb_eval_cli import _flag_errors, add_kb_eval_commands, open_quantile_of
from kefu_core.settings import Settings
from knowledge_base import calibration, classifier_refit
from knowledge_base.calibration import Calibration
from knowledge_base.decision import abstain, decide
from knowledge_base.documents import EntryDoc
from knowledge_base.evaluate import Query, evaluate
from knowledge_base.retriever import DEFAULT_THRESHOLDS, FaqRetriever
from knowledge_base.thresholds import with_open_quantile
from tests.helpers import kefu_env
from tests.knowledge_base.fakes import HashEncoder

FILLS = ("today", "please", "now", "again", "soon", "quickly", "exactly", "here")


def _entry(faq_id: str, question: str, stem: str) -> EntryDoc:
    # Variants close to each other: held-out ones score high, so a loose match stands out as unusual.
    return EntryDoc(faq_id, question, "A", "en", None, tuple(f"{stem} {w}" for w in FILLS))


BASE = [
    _entry("ship", "How long does delivery take?", "how long does delivery take"),
    _entry("pay", "Which payment methods do you accept?", "which payment methods do you accept"),
    _entry("pwd", "How do I reset my password?", "how do i reset my password"),
    EntryDoc("bare", "Do you have a shop in Paris?", "No", "en", None),  # no variants
    EntryDoc("ret", "退货需要多久？", "7 天内。", "zh", None, ("退货要几天",)),
]
QUERIES = [
    "delivery driver rude",
    "how long does delivery take now",
    "payment failed",
    "reset password",
    "shop in paris",
    "the delivery driver was rude",
    "how long does it take",
]


def _built(
    quantile: float, entries: list[EntryDoc] = BASE, encoder: HashEncoder | None = None
) -> FaqRetriever:
    retriever = FaqRetriever(encoder or HashEncoder(), with_open_quantile(DEFAULT_THRESHOLDS, quantile))
    retriever.build(entries)
    return retriever


def _outcomes(retriever: FaqRetriever) -> list[tuple[str, list[tuple[str, float]]]]:
    return [
        (r.decision, [(h.faq_id, h.score) for h in r.results])
        for q in QUERIES
        for r in (retriever.search(q, language="en", k=3),)
    ]


def test_off_by_default_nothing_is_calibrated_and_results_are_todays() -> None:
    assert DEFAULT_THRESHOLDS["en"].open_quantile == 0 and DEFAULT_THRESHOLDS["zh"].open_quantile == 0
    assert with_open_quantile(DEFAULT_THRESHOLDS, 0.0) is DEFAULT_THRESHOLDS
    default_encoder, off_encoder = HashEncoder(), HashEncoder()
    default = FaqRetriever(default_encoder)
    default.build(BASE)
    off = _built(0.0, encoder=off_encoder)
    assert _outcomes(off) == _outcomes(default)
    assert all(ix.calibration is None for ix in off._indexes.values())
    assert off_encoder.batches == default_encoder.batches  # and nothing more embedded
    for decision, hits in _outcomes(off):
        assert decision == decide([s for _, s in hits], DEFAULT_THRESHOLDS["en"])


def test_a_loose_near_domain_match_is_refused_and_an_own_variant_still_answered() -> None:
    today, on = _built(0.0), _built(0.10)
    loose = "delivery driver rude"
    assert today.search(loose, language="en").decision == "answer"
    refused = on.search(loose, language="en")
    assert refused.decision == "none"
    assert refused.results == today.search(loose, language="en").results  # the ranking is untouched
    own = on.search("how long does delivery take now", language="en")
    assert own.decision == "answer" and own.results[0].faq_id == "ship"
    assert on.search("How do I reset my password?", language="en").decision == "answer"
    # What today refuses stays refused; a clarify may become an answer (the cut-off is lower) or none.
    for (was, _), (now, _) in zip(_outcomes(today), _outcomes(on), strict=True):
        assert now == was or now == "none" or (was, now) == ("clarify", "answer")


def test_with_abstention_on_a_low_but_clear_leader_is_answered_and_a_close_call_still_clarified() -> None:
    on = with_open_quantile(DEFAULT_THRESHOLDS, 0.10)
    for lang, th in on.items():
        assert th.answer == th.clarify == DEFAULT_THRESHOLDS[lang].clarify
        assert th.margin == DEFAULT_THRESHOLDS[lang].margin
    en, today = on["en"], DEFAULT_THRESHOLDS["en"]
    low_but_clear = [today.answer - 0.05, today.answer - 0.25]
    assert decide(low_but_clear, today) == "clarify"
    assert decide(low_but_clear, en) == "answer"
    close_call = [today.answer - 0.05, today.answer - 0.05 - en.margin / 2]
    assert decide(close_call, en) == "clarify"
    assert decide([en.clarify - 0.01, 0.0], en) == "none"


def test_every_entry_is_cross_fitted_once_per_variant_and_the_question_never_held_out() -> None:
    cal = _built(0.10)._indexes["en"].calibration
    assert isinstance(cal, Calibration)
    assert {f: len(v) for f, v in cal.fused.items()} == {"ship": 8, "pay": 8, "pwd": 8, "bare": 0}
    assert len(cal.pooled_fused) == len(cal.pooled_dense) == 24
    for arrays in (cal.fused, cal.dense):
        assert all(np.all(np.diff(v) >= 0) for v in arrays.values())  # sorted
    assert np.all(cal.pooled_fused > 0.5)  # near-duplicate variants find their own entry
    # Chinese has one variant: under MIN_HELD_OUT, so it decides as today.
    assert _built(0.10)._indexes["zh"].calibration is None


def test_an_entry_without_variants_is_judged_on_the_pooled_distribution() -> None:
    on = _built(0.10)
    cal = on._indexes["en"].calibration
    assert isinstance(cal, Calibration)
    for fused, dense in ((0.3, 0.2), (0.8, 0.9), (0.95, 0.97)):
        pooled = (
            np.searchsorted(cal.pooled_fused, fused, side="right") / len(cal.pooled_fused)
            + np.searchsorted(cal.pooled_dense, dense, side="right") / len(cal.pooled_dense)
        ) / 2
        assert cal.evidence("bare", fused, dense) == pytest.approx(pooled)
        assert cal.evidence("not-calibrated", fused, dense) == pytest.approx(pooled)
    assert on.search("Do you have a shop in Paris?", language="en").decision == "answer"
    assert _built(0.0).search("shop in paris", language="en").decision == "answer"
    assert on.search("shop in paris", language="en").decision == "none"


def test_few_variants_are_blended_towards_the_pooled_distribution() -> None:
    own = np.asarray([0.9], np.float32)
    pooled = np.asarray([0.1, 0.2, 0.3, 0.4], np.float32)
    cal = Calibration({"e": own}, {"e": own}, pooled, pooled)
    # F_own(0.5) = 0, F_pooled(0.5) = 1: (1·0 + 10·1) / 11 for each signal.
    assert cal.evidence("e", 0.5, 0.5) == pytest.approx(10 / 11)


def test_evidence_rises_with_each_score() -> None:
    rng = np.random.default_rng(0)
    fused, dense = np.sort(rng.uniform(0.3, 1, 12)), np.sort(rng.uniform(0.2, 1, 12))
    cal = Calibration(
        {"e": fused}, {"e": dense}, np.sort(rng.uniform(0, 1, 40)), np.sort(rng.uniform(0, 1, 40))
    )
    grid = np.linspace(0, 1, 41)
    for other in (0.1, 0.5, 0.9):
        by_fused = [cal.evidence("e", x, other) for x in grid]
        by_dense = [cal.evidence("e", other, x) for x in grid]
        assert all(b >= a for a, b in itertools.pairwise(by_fused))
        assert all(b >= a for a, b in itertools.pairwise(by_dense))
    assert cal.evidence("e", 0.0, 0.0) == 0.0 and cal.evidence("e", 1.0, 1.0) == 1.0


def test_abstain_only_turns_answers_and_clarifies_into_none() -> None:
    th = replace(DEFAULT_THRESHOLDS["en"], open_quantile=0.1)
    assert abstain("answer", 0.05, th) == "none" and abstain("clarify", 0.05, th) == "none"
    assert abstain("answer", 0.1, th) == "answer" and abstain("clarify", 0.5, th) == "clarify"
    assert abstain("answer", None, th) == "answer" and abstain("none", 0.9, th) == "none"


@pytest.mark.parametrize("variants", [0, 1, 25], ids=["bare", "one-variant", "many-variants"])
def test_a_base_of_one_entry_still_answers_its_own_question(variants: int) -> None:
    stem = "how long does delivery take"
    entry = EntryDoc("only", "How long does delivery take?", "3 days", "en", None,
                     tuple(f"{stem} {i} {w}" for i in range(5) for w in FILLS[:5])[:variants])  # fmt: skip
    retriever = _built(0.10, [entry])
    cal = retriever._indexes["en"].calibration
    assert (cal is None) == (variants < calibration.MIN_HELD_OUT)
    own = retriever.search("How long does delivery take?", language="en")
    assert own.decision == "answer" and [h.faq_id for h in own.results] == ["only"]
    assert retriever.search("what colour is the moon", language="en").decision in {"none", "clarify"}
    if cal is not None:
        assert retriever.search("delivery driver rude", language="en").decision == "none"


def test_a_large_base_calibrates_in_the_background_and_an_edit_recalibrates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(classifier_refit, "SYNC_CALIBRATION_TEXTS", 0)
    retriever = _built(0.10)
    retriever.wait_for_background(30)
    first = retriever._indexes["en"].calibration
    assert isinstance(first, Calibration) and set(first.fused) == {"ship", "pay", "pwd", "bare"}
    retriever.upsert([_entry("ret2", "How do I return an item?", "how do i return an item")])
    retriever.wait_for_background(30)
    second = retriever._indexes["en"].calibration
    assert isinstance(second, Calibration) and second is not first and "ret2" in second.fused
    assert retriever.search("delivery driver rude", language="en").decision == "none"


def test_evaluate_threads_the_quantile_and_reports_it_only_when_on() -> None:
    queries = [
        Query("delivery driver rude", None, "en"),
        Query("how long does delivery take now", "ship", "en"),
    ]
    off = evaluate(BASE, queries, HashEncoder(), progress=False)  # type: ignore[arg-type]
    on = evaluate(BASE, queries, HashEncoder(), progress=False, open_quantile=0.1)  # type: ignore[arg-type]
    assert "open_quantile" not in off and on["open_quantile"] == 0.1
    assert off["decisions"] == {"answer": 2, "clarify": 0, "none": 0}
    assert on["decisions"] == {"answer": 1, "clarify": 0, "none": 1}
    assert on["open_intent"]["open_recall"] == 1.0


def test_the_setting_and_the_flags_accept_0_to_below_half() -> None:
    assert Settings().kb_open_quantile == 0.1  # on by default since issue 20's five-seed bench
    assert Settings(kb_open_quantile=0).kb_open_quantile == 0.0
    for too_far in (-0.1, 0.5):
        with pytest.raises(ValueError, match=r"kb_open_quantile|KEFU_KB_OPEN_QUANTILE"):
            Settings(kb_open_quantile=too_far)
    parser = argparse.ArgumentParser()
    add_kb_eval_commands(parser.add_subparsers(dest="kb_command", required=True))
    common = ["--data", "d", "--seed", "0", "--json", "o.json"]
    args = parser.parse_args(
        ["bench", "banking77-open", "--known-ratio", "0.5", "--open-quantile", "0.10", *common]
    )
    assert args.open_quantile == 0.1
    plain = parser.parse_args(["eval", "--kb", "k", "--queries", "q", "--json", "o"])
    assert plain.open_quantile is None  # not given: the app's setting
    assert open_quantile_of(plain) == 0.1
    with kefu_env(KEFU_KB_OPEN_QUANTILE="0"):
        assert open_quantile_of(plain) == 0.0
    for bad in ("0.5", "-1", "x"):
        with pytest.raises(SystemExit):
            parser.parse_args(["bench", "banking77", "--open-quantile", bad, *common])
    atec = parser.parse_args(["bench", "atec", "--open-quantile", "0.1", *common])
    assert (
        _flag_errors(atec)
        == "--open-quantile does not apply to atec (it measures the ranking, not the decision)"
    )
    assert _flag_errors(parser.parse_args(["bench", "atec", *common])) is None
