"""Tests of mailyard.dialects."""
