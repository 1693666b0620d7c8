"""Start and stop server processes in their own process group, and fail clearly when a binary is missing.

Every server runs in a fresh session so that stopping it can signal the whole group, including helpers
the daemon forked. While a group is being stopped, this (pytest) process is made a "child subreaper":
helpers orphaned by their master (Postfix's master exits without waiting for its children) are
re-parented to us instead of PID 1 and reaped here, so no ``<defunct>`` entries outlive the session
even in containers whose init never reaps. An ``atexit`` hook is the last line of defence if a fixture
finalizer never runs.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import pytest

from .ports import listening_ports_of, port_taken

_MAKE_HINT = "`make test` installs it"
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_UNIX_PATH_MAX = 107
_live_groups: set[int] = set()


def require_file(path: str | Path, package: str, what: str) -> None:
    """Fail the requesting test (never skip it) when a file that a Debian package ships is absent."""
    if not Path(path).exists():
        pytest.fail(
            f"{what} ({path}) is missing: install the Debian package {package!r} ({_MAKE_HINT}).",
            pytrace=False,
        )


def check_socket_dir(directory: Path, longest_name: int) -> None:
    """Refuse a directory whose unix sockets would exceed the kernel's 107-byte path limit.

    Daemons fail confusingly (a reset connection, a crashed helper) instead of saying so.
    """
    if len(str(directory)) + 1 + longest_name > _UNIX_PATH_MAX:
        raise ValueError(f"{directory} is too long for unix socket paths below it; use a shorter directory")


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages; empty when the file does not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run(argv: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 30.0) -> str:
    """Run a short helper command and return its stdout; raise with its output when it fails."""
    result = subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def _group_processes(pgid: int) -> list[tuple[int, bool]]:
    """``(pid, is_zombie)`` for every process of a process group, read from /proc."""
    found: list[tuple[int, bool]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may contain spaces, so split after its closing paren.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            found.append((int(entry.name), fields[0] == "Z"))
    return found


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group; zombies are dead already and cannot be signalled."""
    return [pid for pid, zombie in _group_processes(pgid) if not zombie]


def _reap(pgid: int) -> None:
    for pid, zombie in _group_processes(pgid):
        if zombie:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass  # Not ours: orphaned before we became a subreaper, so init reaps it.


def kill_group(pgid: int, timeout: float = 5.0) -> None:
    """SIGTERM a process group, wait for it to vanish, then SIGKILL whatever is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not group_members(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and group_members(pgid):
            time.sleep(0.02)
    _reap(pgid)
    _live_groups.discard(pgid)


@contextmanager
def child_subreaper() -> Iterator[None]:
    """Adopt orphaned descendants for the duration of the block (Linux ``PR_SET_CHILD_SUBREAPER``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    previous = ctypes.c_int(0)
    libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(previous), 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, previous.value, 0, 0, 0)


class ServerStartError(RuntimeError):
    """A test server did not come up; the message carries the reason and the end of its log."""


def start_with_port_retries(
    start: Callable[[], None], repick_ports: Callable[[], None], ports: Callable[[], Iterable[int]]
) -> None:
    """Call ``start``; if it failed because another program took one of its ports, choose new ones.

    ``free_port()`` releases a port before the daemon binds it, so something else can grab it in
    between; rare, but it would fail a whole session. The clash is detected by probing the ports
    rather than by reading logs, because Postfix's master dies silently on it (it can only log through
    its own postlogd, which is not running yet).
    """
    for attempt in range(3):
        try:
            start()
            return
        except ServerStartError:
            if attempt == 2 or not any(port_taken(port) for port in ports()):
                raise
            repick_ports()


class GroupProcess:
    """A daemon running in the foreground as the leader of its own process group."""

    def __init__(self, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        _live_groups.add(self._popen.pid)

    def exited(self) -> int | None:
        """The exit status if the leader has exited, else ``None``."""
        return self._popen.poll() if self._popen else None

    def wait_for_ports(self, ports: Iterable[int], timeout: float) -> None:
        """Wait until the leader itself listens on every port; give up at once if it exits."""
        wanted = set(ports)
        deadline = time.monotonic() + timeout
        while self._popen is not None:
            missing = wanted - listening_ports_of(self._popen.pid)
            if not missing:
                return
            status = self.exited()
            if status is not None:
                raise ServerStartError(f"{self.argv[0]} exited with status {status}; not listening on {missing}")
            if time.monotonic() > deadline:
                raise ServerStartError(f"{self.argv[0]} did not listen on {missing} within {timeout:.0f}s")
            time.sleep(0.01)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the leader, give it ``grace`` seconds, then kill every process left in its group."""
        if self._popen is None:
            return
        popen, self._popen = self._popen, None
        with child_subreaper():
            popen.terminate()
            try:
                popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=5.0)
            # The leader is reaped, but its pid still names the group of any helper it forked.
            kill_group(popen.pid, timeout=1.0)


@atexit.register
class ManagedServer:
    """What every server fixture shares: a `GroupProcess`, a log file, stop, and context-manager use.
    Subclasses set `_process`, `layout.log` and `stop_grace`, and implement `start()`."""

    _process: GroupProcess | None
    stop_grace: float = 5.0

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(grace=self.stop_grace)
            self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_text(self) -> str:
        """The server's whole log, for assertions and failure messages."""
        log: Path = self.layout.log  # type: ignore[attr-defined]
        return log.read_text(errors="replace") if log.exists() else ""


def _kill_leftovers() -> None:
    for pgid in list(_live_groups):
        kill_group(pgid, timeout=1.0)
