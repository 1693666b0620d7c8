"""Security: encryption of stored secrets, API tokens and their scopes."""
