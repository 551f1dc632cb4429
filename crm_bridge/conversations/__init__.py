"""Conversations and messages: the communication record."""
