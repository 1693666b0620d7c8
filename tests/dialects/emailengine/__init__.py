"""Tests of mailyard.dialects.emailengine."""
