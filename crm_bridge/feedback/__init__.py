"""Feedback: CSAT and NPS ratings."""
