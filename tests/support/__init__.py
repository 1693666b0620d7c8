"""Fixtures and helpers for testing Mailyard itself (stores, runtimes, HTTP clients)."""
