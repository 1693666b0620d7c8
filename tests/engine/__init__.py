"""Tests of mailyard.engine."""
