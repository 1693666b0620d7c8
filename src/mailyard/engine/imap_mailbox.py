"""Mailbox commands of an IMAP connection: listing with status, EXAMINE with CONDSTORE/QRESYNC, UID
SEARCH and FETCH, NOTIFY, IDLE and APPEND. Mixed into `ImapConnection`, which supplies `command()`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from aioimaplib.aioimaplib import STOP_WAIT_SERVER_PUSH, Response

from mailyard.engine import imap_parse
from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.imap_parse import FetchedMessage, FolderStatus, SelectInfo
from mailyard.engine.imap_protocol import last_text
from mailyard.engine.imap_text import ListedFolder, decode_mutf7, encode_mutf7, parse_list, quote
from mailyard.engine.uidset import UidSet

if TYPE_CHECKING:
    from mailyard.engine.imap_protocol import Protocol

STATUS_ITEMS = "MESSAGES UIDNEXT UIDVALIDITY UNSEEN"


def wire_name(path: str) -> str:
    return quote(encode_mutf7(path))


def _ok(response: Response, what: str) -> Response:
    if response.result != "OK":
        raise Failure(FailureCode.PROTOCOL, f"{what} failed: {last_text(response)}")
    return response


class MailboxCommands:
    protocol: Protocol
    timeout: float
    closed: asyncio.Event

    async def command(self, name: str, *args: str, prefix: str | None = None) -> Response:
        raise NotImplementedError

    def has(self, capability: str) -> bool:
        raise NotImplementedError

    # -- listing --------------------------------------------------------------------------------
    async def list_folders(self) -> list[ListedFolder]:
        return parse_list(_ok(await self.command("LIST", '""', '"*"'), "LIST").lines)

    async def list_with_status(self) -> tuple[list[ListedFolder], dict[str, FolderStatus]]:
        """Every folder and its counters: one LIST-STATUS round trip where offered, else STATUS each."""
        items = STATUS_ITEMS + (" HIGHESTMODSEQ" if self.has("CONDSTORE") else "")
        if self.has("LIST-STATUS"):
            # Asking for STATUS suppresses the special-use attributes unless they are asked for as well.
            # (and SUBSCRIBED saves the LSUB round trip: folders then carry a \Subscribed flag).
            options = ("SUBSCRIBED " if self.has("LIST-EXTENDED") else "") + (
                "SPECIAL-USE " if self.has("SPECIAL-USE") else "")
            response = _ok(await self.command("LIST", '""', '"*"', f"RETURN ({options}STATUS ({items}))"), "LIST")
            folders = parse_list(response.lines)
            statuses = [replace(s, path=decode_mutf7(s.path)) for s in imap_parse.statuses(response.lines)]
            return folders, {s.path: s for s in statuses}
        folders = await self.list_folders()
        statuses: dict[str, FolderStatus] = {}
        for folder in folders:
            if any(f.lower() in {"\\noselect", "\\nonexistent"} for f in folder.flags):
                continue
            response = await self.command("STATUS", wire_name(folder.path), f"({items})")
            for status in imap_parse.statuses(response.lines):
                statuses[folder.path] = replace(status, path=folder.path)
        return folders, statuses

    async def subscribed(self, listed: list[ListedFolder] | None = None) -> set[str]:
        """Subscribed folders: from the \\Subscribed flags of a LIST-EXTENDED listing, else by LSUB."""
        if listed is not None and self.has("LIST-EXTENDED") and self.has("LIST-STATUS"):
            return {f.path for f in listed if any(flag.lower() == "\\subscribed" for flag in f.flags)}
        return await self._lsub()

    async def _lsub(self) -> set[str]:
        response = await self.command("LSUB", '""', '"*"')
        return {f.path for f in parse_list(response.lines)} if response.result == "OK" else set()

    # -- one folder -----------------------------------------------------------------------------
    async def enable(self, *capabilities: str) -> None:
        wanted = [c for c in capabilities if self.has(c)]
        if wanted and self.has("ENABLE"):
            await self.command("ENABLE", *wanted)

    async def examine(self, path: str, *, condstore: bool = False,
                      qresync: tuple[int, int, UidSet] | None = None) -> SelectInfo:
        """Open a folder read-only. With `qresync` (uidvalidity, modseq, known UIDs) the server also reports
        what vanished and which flags changed since that modseq."""
        args = [wire_name(path)]
        if qresync is not None:
            uidvalidity, modseq, known = qresync
            args.append(f"(QRESYNC ({uidvalidity} {modseq} {known or '1'}))")
        elif condstore:
            args.append("(CONDSTORE)")
        response = await self.command("EXAMINE", *args)
        if response.result != "OK":
            raise Failure(FailureCode.PROTOCOL, f"EXAMINE {path} failed: {last_text(response)}")
        self.protocol.state = "SELECTED"
        return imap_parse.select_info(response.lines)

    async def uid_search(self, *criteria: str) -> UidSet:
        """UIDs matching the criteria; with ESEARCH the answer comes back as compact ranges."""
        if self.has("ESEARCH"):
            response = await self.command("SEARCH", "RETURN", "(ALL)", *criteria, prefix="UID")
        else:
            response = await self.command("SEARCH", *criteria, prefix="UID")
        return imap_parse.searched(_ok(response, "UID SEARCH").lines)

    async def uid_search_all(self) -> UidSet:
        return await self.uid_search("ALL")

    async def uid_fetch(self, uids: UidSet | str, items: str, *, changed_since: int | None = None,
                        vanished: bool = False) -> tuple[list[FetchedMessage], UidSet]:
        """(messages, vanished UIDs). `vanished` needs QRESYNC enabled; `changed_since` needs CONDSTORE."""
        args = [str(uids), f"({items})"]
        if changed_since is not None:
            args.append(f"(CHANGEDSINCE {changed_since}{' VANISHED' if vanished else ''})")
        response = _ok(await self.command("FETCH", *args, prefix="UID"), "UID FETCH")
        return imap_parse.fetched(response.lines), imap_parse.select_info(response.lines).vanished

    async def notify(self, arguments: str) -> bool:
        """NOTIFY SET …; False when the server refuses it (then the caller polls instead)."""
        if not self.has("NOTIFY"):
            return False
        response = await self.command("NOTIFY", "SET", arguments)
        return response.result == "OK"

    async def noop(self) -> None:
        _ok(await self.command("NOOP"), "NOOP")

    # -- waiting --------------------------------------------------------------------------------
    async def idle(self, seconds: float, wake: asyncio.Event | None = None) -> list[bytes]:
        """IDLE for up to `seconds`, until the server pushes something, or until `wake` is set; returns the
        pushed lines."""
        protocol = self.protocol
        idle = asyncio.ensure_future(protocol.idle())
        try:
            return await self._idle(idle, seconds, wake)
        finally:
            if not idle.done():
                idle.cancel()  # the connection failed or we were cancelled mid-IDLE

    async def _idle(self, idle: asyncio.Future[Response], seconds: float, wake: asyncio.Event | None) -> list[bytes]:
        protocol = self.protocol
        acknowledged = asyncio.ensure_future(protocol.wait_for_idle_response())
        try:
            done, _ = await asyncio.wait({idle, acknowledged}, timeout=self.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            acknowledged.cancel()
        if acknowledged not in done:
            if idle.done() and not idle.cancelled() and idle.exception() is None:
                raise Failure(FailureCode.PROTOCOL, f"IDLE refused: {last_text(idle.result())}")
            raise Failure(FailureCode.TIMED_OUT, "server did not accept IDLE in time")
        pushed: list[bytes] = []
        waiter = asyncio.ensure_future(protocol.idle_queue.get())
        others = [asyncio.ensure_future(self.closed.wait())]
        if wake is not None:
            others.append(asyncio.ensure_future(wake.wait()))
        try:
            done, _ = await asyncio.wait({waiter, *others}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            if waiter in done:
                pushed += waiter.result()
        finally:
            for task in (waiter, *others):
                task.cancel()
        if self.closed.is_set():
            raise Failure(FailureCode.CONNECTION_LOST, "connection closed during IDLE")
        protocol.idle_done()
        try:
            async with asyncio.timeout(self.timeout):
                await idle
        except TimeoutError:
            raise Failure(FailureCode.TIMED_OUT, "server did not end IDLE in time") from None
        while not protocol.idle_queue.empty():
            pushed += protocol.idle_queue.get_nowait()
        return [bytes(line) for line in pushed if line != STOP_WAIT_SERVER_PUSH[0]]

    # -- writing --------------------------------------------------------------------------------
    async def append(self, path: str, message: bytes, flags: str = "\\Seen", date: datetime | None = None) -> None:
        try:
            async with asyncio.timeout(max(self.timeout, 30)):
                response = await self.protocol.append(message, wire_name(path), flags, date)
        except TimeoutError:
            raise Failure(FailureCode.TIMED_OUT, "APPEND timed out") from None
        _ok(response, f"APPEND to {path}")

