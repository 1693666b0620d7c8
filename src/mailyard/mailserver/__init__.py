"""The mail servers that serve hosted mailboxes from the store: configuration and managed processes."""
