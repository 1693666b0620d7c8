"""Events: the outbox written with each state change, webhook settings and delivery, the change feed."""
