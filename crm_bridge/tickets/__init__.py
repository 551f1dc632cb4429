"""Tickets: numbered, with a status workflow, SLA due times and an event timeline."""
