"""Tests of mailyard.observability."""
