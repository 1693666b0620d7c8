"""Tests of the event system: webhook settings, signing, delivery from the outbox, the change feed."""
