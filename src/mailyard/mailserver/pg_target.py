"""Where the mail servers reach a PostgreSQL store, from `MAILYARD_DATABASE_URL`, in the forms they expect.

The URL may name a TCP host (a name, an IPv4 address, or an IPv6 literal in brackets) or, libpq style, a
socket directory (`postgresql://user@/db?host=/var/run/postgresql`); it must name a database, since the
servers would otherwise connect to one named after the user and find no tables.

Postfix's pgsql client (pgsql_table(5)) takes `hosts = inet:HOST:PORT` or `unix:DIRECTORY`. It splits HOST
from PORT at the last colon and hands HOST to libpq as is, so an IPv6 address is written without brackets
(`inet:::1:5432`): Postfix 3.7 passes "[::1]" on to the resolver, which fails (tests/mailserver/
test_pg_lookup_tables.py proves both forms against a real PostgreSQL). The `unix:` form has no port, and the
`postgresql://` URI form ignores the separate user, password and dbname settings, so a socket on another
port than 5432 is written as a URI carrying user and database, and refused when it would have to carry the
password too: Postfix logs the hosts value when a connection fails, and the password must never reach a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy.engine import make_url

DEFAULT_PORT = 5432


@dataclass(frozen=True)
class PgTarget:
    host: str  # a host name, an IP address without brackets, or a socket directory (starts with "/")
    port: int
    database: str
    user: str
    password: str

    @property
    def is_socket(self) -> bool:
        return self.host.startswith("/")


def _one(value: object, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        if len(value) != 1:
            raise ValueError(f"the database URL names several {name}s; the mail servers need exactly one")
        value = value[0]
    return str(value)


def pg_target(database_url: str) -> PgTarget:
    """The store's PostgreSQL server; raises ValueError for a URL the mail servers cannot use."""
    url = make_url(database_url)
    if not url.database:
        raise ValueError("the PostgreSQL database URL names no database (postgresql://USER@HOST/DATABASE)")
    host = url.host or _one(url.query.get("host"), "host") or "localhost"
    port_text = _one(url.query.get("port"), "port")
    try:
        port = url.port or (int(port_text) if port_text else DEFAULT_PORT)
    except ValueError:
        raise ValueError(f"the database URL's port {port_text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"the database URL's port {port} is not between 1 and 65535")
    target = PgTarget(host, port, url.database, url.username or "", url.password or "")
    for name in ("host", "database", "user", "password"):
        # A line break would end the value in the rendered files and start a setting of the caller's choice.
        if any(ord(c) < 32 or ord(c) == 127 for c in getattr(target, name)):
            raise ValueError(f"the database URL's {name} contains control characters")
    return target


def postfix_hosts(target: PgTarget) -> str:
    """The `hosts` value of a Postfix pgsql table for `target`."""
    if target.host.startswith(" ") or target.host.endswith(" "):
        raise ValueError("the database URL's host has surrounding spaces, which Postfix's files cannot hold")
    if not target.is_socket:
        return f"inet:{target.host}:{target.port}"
    if target.port == DEFAULT_PORT:
        return f"unix:{target.host}"
    if target.password:
        raise ValueError("Postfix can only reach a PostgreSQL socket on a port other than 5432 through a URI, "
                         "which would put the database password into its logs: use port 5432, TCP, or a "
                         "password-less (peer or trust) login on the socket")
    query = urlencode({"host": target.host, "port": str(target.port)}, safe="/")
    user = f"{quote(target.user, safe='')}@" if target.user else ""
    return f"postgresql://{user}/{quote(target.database, safe='')}?{query}"
