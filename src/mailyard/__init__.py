"""Mailyard: a self-hosted email accounts platform (connected accounts and hosted mailboxes)."""

__version__ = "0.1.0"
