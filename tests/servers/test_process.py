"""Checks of the process helpers: a missing server binary fails the test with an installation hint."""

from __future__ import annotations

import pytest

from .ports import free_port, listening_ports_of, port_taken, wait_for_port
from .process import require_file


def test_missing_binary_fails_naming_the_debian_package() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        require_file("/nonexistent/dovecot", "dovecot-core", "the Dovecot master")
    message = str(failed.value)
    assert "dovecot-core" in message
    assert "`make test` installs it" in message


def test_wait_for_port_times_out_on_a_closed_port() -> None:
    port = free_port()
    assert not port_taken(port)
    with pytest.raises(TimeoutError, match=str(port)):
        wait_for_port("127.0.0.1", port, timeout=0.1)


def test_listening_ports_of_sees_only_the_owners_sockets() -> None:
    import os
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port in listening_ports_of(os.getpid())
        assert port_taken(port)
    assert port not in listening_ports_of(os.getpid())
