"""Postfix's pgsql lookup tables and Dovecot's pgsql connect string for every form of PostgreSQL URL: TCP by
name, IPv4 or IPv6, a socket directory, and the URLs they cannot use. When MAILYARD_TEST_DATABASE_URL is set,
a real `postmap` queries the real PostgreSQL through the rendered files, over IPv6 and over the socket."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from mailyard.mailserver.dovecot_sql import sql_connection
from mailyard.mailserver.ports import MailPorts
from mailyard.mailserver.postfix_config import render_table
from mailyard.mailserver.render import render_mail_servers
from tests.servers.postfix import require_postfix
from tests.support.app import make_settings
from tests.support.dirs import server_dir
from tests.support.store import PG_URL

POSTMAP = "/usr/sbin/postmap"
SOCKET_DIR = Path("/var/run/postgresql")


def _settings(table: str) -> dict[str, str]:
    lines = [line for line in table.splitlines() if line and not line.startswith("#")]
    return dict(line.split(" = ", 1) for line in lines)


@pytest.mark.parametrize(("url", "hosts"), [
    ("postgresql://mail:pw@db.internal/store", "inet:db.internal:5432"),
    ("postgresql://mail:pw@10.0.0.5:6432/store", "inet:10.0.0.5:6432"),
    # Postfix splits host from port at the last colon and hands the host to libpq without brackets.
    ("postgresql://mail:pw@[::1]:5432/store", "inet:::1:5432"),
    ("postgresql://mail:pw@[2001:db8::5]/store", "inet:2001:db8::5:5432"),
    ("postgresql://mail:pw@/store?host=/var/run/postgresql", "unix:/var/run/postgresql"),
    ("postgresql://mail:pw@/store?host=/run/pg&port=5432", "unix:/run/pg"),
    # No unix: form names a port; a URI does, and carries user and database (but never the password).
    ("postgresql://mail@/store?host=/run/pg&port=5433", "postgresql://mail@/store?host=/run/pg&port=5433"),
])
def test_postfix_tables_name_the_store_as_pgsql_table_5_expects(url: str, hosts: str) -> None:
    settings = _settings(render_table(url, "SELECT 1"))
    assert settings["hosts"] == hosts
    assert settings["dbname"] == "store" and settings["user"] == "mail"
    assert settings["query"] == "SELECT 1"


@pytest.mark.parametrize(("url", "complaint"), [
    ("postgresql://mail:pw@db.internal", "names no database"),
    ("postgresql://mail:pw@db.internal/", "names no database"),
    ("postgresql://mail:pw@/store?host=/run/pg&port=5433", "password into its logs"),
    ("postgresql://mail:p%0Aquery%20=%20DROP@db.internal/store", "control characters"),
    ("postgresql://mail:%20pw@db.internal/store", "surrounding whitespace"),
    ("postgresql://mail@/store?host=/a&host=/b", "several hosts"),
])
def test_urls_postfix_cannot_use_are_refused_with_a_clear_error(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        render_table(url, "SELECT 1")


@pytest.mark.parametrize(("url", "connect"), [
    ("postgresql://mail:pw@[::1]:5433/store", "host=::1 port=5433 dbname=store user=mail password=pw"),
    ("postgresql://mail@/store?host=/var/run/postgresql", "host=/var/run/postgresql port=5432 dbname=store user=mail"),
    ("postgresql://mail:it's@db/store", "host=db port=5432 dbname=store user=mail password='it\\'s'"),
])
def test_dovecot_connects_to_the_same_server(url: str, connect: str) -> None:
    assert sql_connection(url).connect == connect


def test_dovecot_refuses_a_url_without_a_database() -> None:
    with pytest.raises(ValueError, match="names no database"):
        sql_connection("postgresql://mail@db.internal")


def test_mailserver_config_writes_nothing_for_a_url_without_a_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", "postgresql://mail@db.internal", mail_root=tmp_path / "mail")
    with pytest.raises(ValueError, match="names no database"):
        render_mail_servers(settings, tmp_path / "out", MailPorts())
    assert not (tmp_path / "out").exists()


# -- a real postmap against the real PostgreSQL ------------------------------------------------------------

needs_pg = pytest.mark.skipif(PG_URL is None, reason="MAILYARD_TEST_DATABASE_URL is not set")


def _run_postmap(table: str, key: str) -> subprocess.CompletedProcess[str]:
    with server_dir("my-pgmap-") as directory:
        (directory / "main.cf").write_text("compatibility_level = 3.6\n")
        (directory / "t.cf").write_text(table)
        return subprocess.run([POSTMAP, "-c", str(directory), "-q", key, f"pgsql:{directory / 't.cf'}"],
                              capture_output=True, text=True, timeout=30, check=False)


def _postmap(table: str, key: str) -> str:
    result = _run_postmap(table, key)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@asynccontextmanager
async def _ipv6_forwarder(host: str, port: int) -> AsyncIterator[int]:
    """A TCP relay on [::1] to the test PostgreSQL, which listens on IPv4 only."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(relay, "::1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@needs_pg
async def test_postmap_reads_the_store_over_ipv6() -> None:
    require_postfix()
    assert PG_URL is not None
    url = make_url(PG_URL)
    async with _ipv6_forwarder(url.host or "127.0.0.1", url.port or 5432) as port:
        table = render_table(url.set(host="::1", port=port).render_as_string(hide_password=False),
                             "SELECT 'found ' || '%s'")
        assert "hosts = inet:::1:" in table
        # In a thread: the relay runs on this event loop.
        assert await asyncio.to_thread(_postmap, table, "over-ipv6") == "found over-ipv6"
        # Why no brackets: Postfix 3.7 hands "[::1]" to the resolver as a host name.
        bracketed = await asyncio.to_thread(_run_postmap, table.replace("inet:::1:", "inet:[::1]:"), "x")
        assert bracketed.returncode != 0 and 'could not translate host name "[::1]"' in bracketed.stderr


@needs_pg
def test_postmap_reads_the_store_through_the_socket_directory() -> None:
    require_postfix()
    assert PG_URL is not None
    if not (SOCKET_DIR / ".s.PGSQL.5432").exists():
        pytest.skip(f"no PostgreSQL socket in {SOCKET_DIR}")
    url = make_url(PG_URL)
    socket_url = URL.create(url.drivername, url.username, url.password, database=url.database,
                            query={"host": str(SOCKET_DIR)})
    table = render_table(socket_url.render_as_string(hide_password=False), "SELECT 'found ' || '%s'")
    assert f"hosts = unix:{SOCKET_DIR}\n" in table
    assert _postmap(table, "over-the-socket") == "found over-the-socket"
