"""Sentiment of customer messages (English and Chinese): `analyse(text, language=None) -> Analysis`."""

from sentiment.analyser import Analyser, analyse, get_analyser
from sentiment.types import Analysis, SentimentError

__all__ = ["Analyser", "Analysis", "SentimentError", "analyse", "get_analyser"]
