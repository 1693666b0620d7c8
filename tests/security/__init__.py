"""Tests of mailyard.security."""
