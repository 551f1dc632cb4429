"""Text signals beside the sentence embedding: VADER and negation-marked words (en), jieba words and a
lexicon (zh), emoji."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING

import jieba
import numpy as np

from sentiment.zh_lexicon import N_FEATURES as ZH_LEXICON_FEATURES
from sentiment.zh_lexicon import lexicon_features

jieba.setLogLevel(logging.WARNING)

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Longer texts carry their sentiment early enough; capping keeps the cost per message bounded.
MAX_CHARS = 2000
# The embedding is the costly part of a message (int8 MiniLM here: about 2 ms for 8 word pieces, 4 ms
# for 30, 7 ms for 60). Chinese text gets one word piece per character and the English model reads it
# least well, so Chinese is embedded from its first 32 characters; n-grams and the lexicon read it all
# (ChnSentiCorp accuracy was the same, 0.812-0.813, embedding 16, 32, 40 or 64 characters).
MAX_EMBED_CHARS = {"en": 600, "zh": 32}

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_REPEAT = re.compile(r"(.)\1{3,}")
_TOKEN = re.compile(r"[a-z']+|[!?]+|[\u3400-\u9fff]|[^\w\s]", re.UNICODE)
_NEGATION = re.compile(
    r"^(not|no|never|nothing|nobody|none|cannot|cant|can't|dont|don't|didnt|didn't|doesnt|doesn't|isnt|isn't|"
    r"wasnt|wasn't|wont|won't|arent|aren't|havent|haven't|hasnt|hasn't|shouldnt|shouldn't|wouldnt|wouldn't|"
    r"aint|ain't|without|hardly|barely)$"
)
_CLAUSE_END = re.compile(r"^[.,;:!?]+$|^(but|however|though)$")

POSITIVE_EMOJI = set("😀😁😂😃😄😅😆😇😉😊😋😍😘😎🙂🙏👍👌👏💪🎉🥳❤💖💕💯✨🌟⭐☀🤩🥰😻")
NEGATIVE_EMOJI = set("😞😟😠😡🤬😢😭😤😩😫😒🙄👎💔😣😖😕🙁☹😓😰😱🤮🤢💩")
N_SHARED = 3
N_VADER_SUMS = 3
N_EN = 4 + N_VADER_SUMS + N_SHARED
N_ZH = ZH_LEXICON_FEATURES + N_SHARED


def normalise(text: str) -> str:
    """Text as the model sees it: URLs and @mentions replaced, long letter runs shortened, capped."""
    text = _URL.sub(" http ", text[:MAX_CHARS])
    text = _MENTION.sub("@user", text)
    return _REPEAT.sub(r"\1\1\1", text).strip()


def marked_tokens(text: str) -> list[str]:
    """Lower-cased tokens; words after a negation get a NOT_ prefix until the clause ends ("not bad")."""
    out: list[str] = []
    negated = False
    for token in _TOKEN.findall(text.lower()):
        if _CLAUSE_END.match(token):
            negated = False
            out.append(token)
        elif _NEGATION.match(token) or token.endswith("n't"):
            negated = True
            out.append(token)
        else:
            out.append("NOT_" + token if negated else token)
    return out


def emoji_features(text: str) -> np.ndarray:
    """Positive emoji, negative emoji (log counts) and whether the text is only symbols."""
    pos = sum(1 for ch in text if ch in POSITIVE_EMOJI)
    neg = sum(1 for ch in text if ch in NEGATIVE_EMOJI)
    no_letters = not any(ch.isalnum() for ch in text)
    return np.array([np.log1p(pos), np.log1p(neg), float(no_letters)], dtype=np.float32)


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_sums(text: str) -> np.ndarray:
    """VADER's word valences summed (positive, negative, net; squashed by tanh(x / 4)); a negated word
    counts half, with its sign flipped.

    VADER's own scores are shares of the text and a compound normalised for long texts, so one strong
    word in a short message and a few mild ones look alike. Sums keep how much was said: cross-validation
    on our own messages 0.910 -> 0.915 (a scale of 2 instead of 4: 0.905), TweetEval 0.609 -> 0.624.
    """
    lexicon = _vader().lexicon
    positive = negative = 0.0
    for token in marked_tokens(text):
        negated = token.startswith("NOT_")
        valence = float(lexicon.get(token[4:] if negated else token, 0.0))
        if negated:
            valence *= -0.5
        if valence > 0:
            positive += valence
        else:
            negative -= valence
    return np.tanh(np.array([positive, negative, positive - negative], dtype=np.float32) / 4)


def english_features(text: str) -> np.ndarray:
    """VADER's negative/neutral/positive/compound scores, its summed valences and the emoji features."""
    scores = _vader().polarity_scores(text)
    vader = [scores["neg"], scores["neu"], scores["pos"], scores["compound"]]
    return np.concatenate([np.array(vader, dtype=np.float32), vader_sums(text), emoji_features(text)])


def chinese_words(text: str) -> list[str]:
    """jieba's words of a (lower-cased) text, blanks dropped: the Chinese word features' tokens."""
    return [word for word in jieba.lcut(text.lower()) if word.strip()]


def chinese_features(text: str) -> np.ndarray:
    """The hand-written lexicon's features plus the emoji features."""
    return np.concatenate([lexicon_features(text), emoji_features(text)])


def dense_features(texts: list[str], language: str) -> np.ndarray:
    """The per-language hand-made features for a batch, shape (len(texts), N_EN | N_ZH)."""
    fn = english_features if language == "en" else chinese_features
    width = N_EN if language == "en" else N_ZH
    if not texts:
        return np.zeros((0, width), dtype=np.float32)
    return np.vstack([fn(t) for t in texts])
