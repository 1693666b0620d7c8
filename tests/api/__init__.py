"""Tests of mailyard.api."""
