"""Tests of mailyard.cli."""
