"""The audit log: who did what to which record, when, from where (append-only; issue 22 item 7)."""
