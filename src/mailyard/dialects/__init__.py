"""The five API dialects. Each is thin: request and response shapes, routes and its error shape."""
