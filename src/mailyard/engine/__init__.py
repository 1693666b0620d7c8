"""The engine: keeps connected accounts connected. One asyncio supervisor, protocol code behind adapters."""
