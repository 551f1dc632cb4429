"""Erasure that leaves no trace (PIPL / GDPR) and the data-access export: work that spans every domain."""
