"""What aioimaplib's protocol class lacks, added in a subclass: answers to AUTHENTICATE continuations,
untagged responses routed to the one command in flight (aioimaplib routes by response name and drops
ESEARCH, VANISHED, and the STATUS lines of LIST-STATUS), and literals followed by more text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aioimaplib import aioimaplib as lib
from aioimaplib.aioimaplib import CRLF, Command, IMAP4ClientProtocol, Response

# Commands aioimaplib does not know; execute() looks every command up in this table.
lib.Commands.setdefault("NOTIFY", lib.Cmd("NOTIFY", (lib.AUTH, lib.SELECTED), lib.Exec.is_sync))
lib.Commands.setdefault("UNSELECT", lib.Cmd("UNSELECT", (lib.SELECTED,), lib.Exec.is_sync))


class Cmd(Command):
    """A command whose response may continue after a literal (`* STATUS {5}` ⏎ `INBOX (MESSAGES 3)`)."""

    _after_literal = False

    def wait_data(self) -> bool:
        return self.wait_literal_data() or self._after_literal

    def _end_literal_data(self) -> None:
        super()._end_literal_data()
        self._after_literal = True

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        if isinstance(line, bytes):  # literal payloads arrive as bytearray
            self._after_literal = False
        super().append_to_resp(line, result)


class Protocol(IMAP4ClientProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, on_lost: Callable[[Exception | None], None]) -> None:
        super().__init__(loop, on_lost)
        self.responder: Callable[[bytes], bytes] | None = None

    def send(self, line: str, scrub: str | None = None) -> None:
        # aioimaplib formats a debug line for every command even when debug logging is off (and would log
        # credentials if it were on): write the command, nothing else.
        assert self.transport is not None
        self.transport.write(f"{line}\r\n".encode())

    def _continuation(self, line: bytes) -> None:
        command = self.pending_sync_command
        if command is not None and command.name == "AUTHENTICATE" and self.responder is not None:
            assert self.transport is not None
            self.transport.write(self.responder(line[1:].strip()) + CRLF)
            return
        super()._continuation(line)

    def _untagged_response(self, line: bytes) -> Command | None:
        # We never pipeline, so whatever arrives belongs to the single command in flight.
        text = line[2:] if line.startswith(b"* ") else line
        command = self.pending_sync_command
        if command is None and len(self.pending_async_commands) == 1:
            command = next(iter(self.pending_async_commands.values()))
        if command is None:
            return super()._untagged_response(line)
        command.append_to_resp(text)
        return command


def last_text(response: Response) -> str:
    """The text of the tagged reply (the last line), for messages and response codes."""
    for line in reversed(response.lines):
        if isinstance(line, bytes | bytearray) and line:
            return bytes(line).decode("utf-8", "replace")
    return ""
