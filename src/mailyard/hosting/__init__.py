"""Hosted domains and mailboxes: the rules of the hosting side, shared by every dialect."""
