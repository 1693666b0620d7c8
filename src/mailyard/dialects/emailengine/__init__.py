"""EmailEngine dialect (`/v1`): connected accounts, settings, tokens."""
