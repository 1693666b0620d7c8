"""MSJ Hub dialect (`/v2`, header `x-api-key`): hosted domains, email accounts and login checks."""
