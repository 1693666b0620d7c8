"""Tests of mailyard.store."""
