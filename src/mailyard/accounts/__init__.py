"""Connected accounts: their settings, states and rules (create, update, partial merge, delete)."""
