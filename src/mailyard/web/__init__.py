"""The web pages: the operators' dashboard and the hosted authentication form (server-rendered, Jinja2)."""
