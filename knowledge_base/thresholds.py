"""Per-language weights of the fused score and the cut-offs of the answer / clarify / none decision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


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
    # A would-be answer or clarify becomes none when the top entry's calibrated evidence is below this: about
    # the share of in-scope questions refused (0: off, nothing calibrated; docs/decisions/0010-...).
    open_quantile: float = 0.0


# Calibrated on the demo base's held-out variants and written out-of-scope questions; the English
# word-piece weight on a BANKING77 validation split (docs/decisions/0002-faq-score-fusion-and-rerank.md).
DEFAULT_THRESHOLDS = {
    "en": Thresholds(
        answer=0.50, clarify=0.35, margin=0.04, dense_weight=0.8, classifier_weight=0.5, token_weight=1.0
    ),
    "zh": Thresholds(answer=0.40, clarify=0.27, margin=0.05, dense_weight=0.25, classifier_weight=0.5),
}


# A language given its own sentence model (KEFU_EMBEDDING_MODEL_ZH) no longer reads its dense signal through
# the English MiniLM, so it counts for more; chosen by reasoning, not measured on a Chinese model (none
# installs here): docs/decisions/0009-per-language-embedder.md.
OWN_ENCODER_THRESHOLDS = {
    "zh": Thresholds(answer=0.46, clarify=0.31, margin=0.05, dense_weight=0.6, classifier_weight=0.5),
}


def with_own_encoders(thresholds: dict[str, Thresholds], languages: Iterable[str]) -> dict[str, Thresholds]:
    """`thresholds` with each of `languages` that has own-encoder weights given those instead (`thresholds`
    itself when none has)."""
    own = {lang: OWN_ENCODER_THRESHOLDS[lang] for lang in languages if lang in OWN_ENCODER_THRESHOLDS}
    return {**thresholds, **own} if own else thresholds


def with_open_quantile(thresholds: dict[str, Thresholds], quantile: float) -> dict[str, Thresholds]:
    """`thresholds` with every language's `open_quantile` set to `quantile` and its answer cut-off lowered to
    its clarify cut-off (`thresholds` itself at 0).

    With abstention on, the entry's own evidence guards against unknown questions, so a low score no longer
    means "ask which": `clarify` is left for close calls (the margin). Measured on development sets only:
    docs/decisions/0014-answer-when-calibrated.md.
    """
    if not quantile:
        return thresholds
    return {
        lang: replace(th, open_quantile=quantile, answer=min(th.answer, th.clarify))
        for lang, th in thresholds.items()
    }


def for_language(thresholds: dict[str, Thresholds], language: str) -> Thresholds:
    """`language`'s thresholds, or the generic ones for a language without its own."""
    return thresholds.get(language, Thresholds())
