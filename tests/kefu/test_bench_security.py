"""The pure parts of `make bench --only security`: the noise rule, the verdicts and the summaries."""

from __future__ import annotations

import pytest

from kefu.bench_security import MEASURES, compare, paired_ratios, pick, relative_spread
from kefu.bench_security_load import summary


def test_relative_spread_is_range_over_median() -> None:
    assert relative_spread([90.0, 100.0, 110.0]) == pytest.approx(0.2)
    assert relative_spread([100.0]) == 0.0  # one round: no noise estimate


def test_compare_within_noise_when_the_ratio_is_inside_the_larger_spread() -> None:
    result = compare([100.0, 110.0, 90.0], [104.0, 95.0, 112.0], higher_is_better=False)
    assert result["baseline_median"] == 100.0
    assert result["current_median"] == 104.0
    assert result["ratio"] == pytest.approx(1.04)
    assert result["noise"] == pytest.approx(0.2)
    assert result["verdict"] == "within noise"


def test_compare_names_the_direction_past_the_noise() -> None:
    slower = compare([10.0, 10.5, 10.2], [20.0, 21.0, 20.5], higher_is_better=False)
    assert slower["verdict"] == "worse"
    assert slower["ratio"] == pytest.approx(20.5 / 10.2, abs=1e-3)
    more_per_second = compare([10.0, 10.5, 10.2], [20.0, 21.0, 20.5], higher_is_better=True)
    assert more_per_second["verdict"] == "better"
    fewer_per_second = compare([20.0, 21.0, 20.5], [10.0, 10.5, 10.2], higher_is_better=True)
    assert fewer_per_second["verdict"] == "worse"


def test_summary_counts_failures_and_rate_from_successes() -> None:
    result = summary([10.0, 20.0, 30.0, 40.0], ok=3, seconds=2.0)
    assert result["n"] == 4
    assert result["errors"] == 1
    assert result["per_second"] == 1.5
    assert result["latency_ms"]["p50"] == 25.0


def test_every_measure_points_into_a_round_result() -> None:
    timing = {"per_second": 5.0, "latency_ms": {"p50": 1.0, "p95": 2.0}}
    chat = {
        **timing,
        "new_conversation_ms": {"p50": 3.0, "p95": 4.0},
        "follow_up_ms": {"p50": 5.0, "p95": 6.0},
    }
    round_ = {"login": {"1": timing, "4": timing, "wrong4": timing}, "chat": {"1": chat, "8": chat}}
    values = {key: pick(round_, path) for key, _, _, path in MEASURES}
    assert values["chat8_follow_p95"] == 6.0
    assert values["login4_rate"] == 5.0
    assert len(values) == len(MEASURES)  # keys unique


def test_paired_ratios_are_taken_round_by_round() -> None:
    assert paired_ratios([10.0, 20.0], [15.0, 20.0]) == [1.5, 1.0]
