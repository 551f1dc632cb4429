"""Per-language weights of the fused score and the cut-offs of the answer / clarify / none decision."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Fused-score cut-offs for a decision, per language (the dense signal is weaker in Chinese)."""

    answer: float = 0.62
    clarify: float = 0.42
    margin: float = 0.04
    dense_weight: float = 0.7
    # Share of the score given to the character-n-gram classifier (0: not trained for this language).
    classifier_weight: float = 0.0
    # How far word-piece matching moves the best entries' scores (0: off for this language).
    token_weight: float = 0.0


# Calibrated on the demo base's held-out variants and written out-of-scope questions; the English
# word-piece weight on a BANKING77 validation split (docs/decisions/0002-faq-score-fusion-and-rerank.md).
DEFAULT_THRESHOLDS = {
    "en": Thresholds(
        answer=0.50, clarify=0.35, margin=0.04, dense_weight=0.8, classifier_weight=0.5, token_weight=1.0
    ),
    "zh": Thresholds(answer=0.40, clarify=0.27, margin=0.05, dense_weight=0.25, classifier_weight=0.5),
}


def for_language(thresholds: dict[str, Thresholds], language: str) -> Thresholds:
    """`language`'s thresholds, or the generic ones for a language without its own."""
    return thresholds.get(language, Thresholds())
