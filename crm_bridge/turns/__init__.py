"""Queued customer turns: stored once per platform message, answered by a job in order per conversation."""
