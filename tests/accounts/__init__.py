"""Tests of mailyard.accounts."""
