"""Outgoing mail of connected accounts: composing a message (compose) and submitting it (submit)."""
