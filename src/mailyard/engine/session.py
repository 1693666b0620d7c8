"""One connected account's watch: full syncs, IDLE (with NOTIFY where offered) on the main connection,
one extra IDLE connection per subconnection folder, and a periodic resync.

Changes to a folder are synced under that folder's lock, whichever connection noticed them, so two
connections never announce the same message twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailyard.accounts.config import AccountConfig
from mailyard.engine import imap_parse
from mailyard.engine.backoff import Backoff
from mailyard.engine.connector import Connector
from mailyard.engine.failures import Failure
from mailyard.engine.folder_store import FolderStore, StoredFolder
from mailyard.engine.folder_sync import FolderSync, SyncResult
from mailyard.engine.folders import FolderInfo, describe
from mailyard.engine.imap import ImapConnection
from mailyard.engine.imap_text import decode_mutf7, encode_mutf7, quote
from mailyard.engine.plan import ConnectionPlan
from mailyard.events.outbox import NewEvent
from mailyard.events.types import EventType

log = logging.getLogger(__name__)

_MESSAGE_EVENTS = "(MessageNew MessageExpunge FlagChange)"


@dataclass
class SessionDeps:
    folders: FolderStore
    connector: Connector
    backoff: Backoff
    resync_interval: float = 900.0
    keepalive: float = 300.0


@dataclass
class PathFilter:
    """The account's `path` setting: "*" or folder paths and special-use names ("\\\\Sent")."""

    entries: list[str] | None  # None: every folder

    @classmethod
    def of(cls, setting: Any) -> PathFilter:
        if setting in (None, "*") or (isinstance(setting, list) and "*" in setting):
            return cls(None)
        return cls([setting] if isinstance(setting, str) else list(setting))

    def watches(self, folder: FolderInfo) -> bool:
        if folder.no_select:
            return False
        if self.entries is None:
            return True
        wanted = {e.upper() if e.upper() == "INBOX" else e for e in self.entries}
        path = "INBOX" if folder.path.upper() == "INBOX" else folder.path
        return path in wanted or (folder.special_use is not None and folder.special_use in wanted)


@dataclass
class AccountSession:
    config: AccountConfig
    plan: ConnectionPlan
    conn: ImapConnection
    deps: SessionDeps
    on_synced: Callable[[], None]  # a full sync completed (the worker reports syncTime)
    sync_requested: asyncio.Event = field(default_factory=asyncio.Event)
    folders: dict[str, FolderInfo] = field(default_factory=dict)
    stored: dict[str, StoredFolder] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    qresync: bool = False
    selected: str | None = None

    def __post_init__(self) -> None:
        self.filter = PathFilter.of(self.config.path)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Everything up to `connected`: capabilities, the stored state, a full sync."""
        self.qresync = self.conn.has("QRESYNC")
        if self.qresync:
            await self.conn.enable("QRESYNC")
        self.stored = await self.deps.folders.load(self.config.id)
        await self.full_sync()

    async def watch(self) -> None:
        """Until the connection fails (raises Failure) or the task is cancelled."""
        subconnections = [asyncio.create_task(self._subconnection(path), name=f"sub:{self.config.id}:{path}")
                          for path in self._subconnection_paths()]
        try:
            await self._watch_main()
        finally:
            for task in subconnections:
                task.cancel()
            await asyncio.gather(*subconnections, return_exceptions=True)

    # -- syncing ---------------------------------------------------------------------------------
    def _lock(self, path: str) -> asyncio.Lock:
        return self.locks.setdefault(path, asyncio.Lock())

    async def full_sync(self) -> None:
        listed, statuses = await self.conn.list_with_status()
        subscribed = await self.conn.subscribed(listed)
        infos = describe(listed, self.config.imap, subscribed)
        first_listing = not self.stored
        events: list[NewEvent] = []
        present = {info.path for info in infos}
        if not first_listing:
            for info in infos:
                # A folder that comes back after being deleted is announced by its sync (mailboxReset).
                if info.path not in self.stored and self.filter.watches(info):
                    events.append(NewEvent(EventType.MAILBOX_NEW, {
                        "path": info.path, "name": info.name, "specialUse": info.special_use},
                        path=info.path, special_use=info.special_use))
            for path, stored in self.stored.items():
                if path not in present and not stored.gone and self._watched_path(path, stored.special_use):
                    events.append(NewEvent(EventType.MAILBOX_DELETED, {"path": path}, path=path,
                                           special_use=stored.special_use))
        self.folders = {info.path: info for info in infos}
        for path, stored in self.stored.items():
            stored.gone = path not in present
        results = []
        for info in infos:
            if self.filter.watches(info) and not self._unchanged(info.path, statuses.get(info.path)):
                async with self._lock(info.path):
                    results.append(await self._run_sync(info, self.conn, statuses.get(info.path)))
        await self.deps.folders.save_listing(self.config.id, self.config.generation, infos, statuses, events,
                                             results)
        for result in results:
            self._remember(result)
        self.on_synced()

    def _watched_path(self, path: str, special_use: str | None) -> bool:
        entries = self.filter.entries
        return entries is None or path in entries or (special_use is not None and special_use in entries)

    def _unchanged(self, path: str, status: imap_parse.FolderStatus | None) -> bool:
        """A folder whose STATUS matches what we stored needs no EXAMINE (only trusted with CONDSTORE,
        since without it a flag change leaves every counter as it was)."""
        stored = self.stored.get(path)
        if status is None or stored is None or stored.gone or not self.conn.has("CONDSTORE"):
            return False
        state = stored.state
        return (status.uidvalidity == state.uidvalidity and status.uidnext == state.uidnext
                and status.messages == state.messages and status.highestmodseq == state.highestmodseq)

    async def sync_folder(self, path: str, conn: ImapConnection | None = None) -> None:
        info = self.folders.get(path)
        if info is None:
            return
        async with self._lock(path):
            result = await self._run_sync(info, conn or self.conn)
            await self.deps.folders.save_sync(self.config.id, self.config.generation, result)
            self._remember(result)

    async def _run_sync(self, info: FolderInfo, conn: ImapConnection,
                        status: imap_parse.FolderStatus | None = None) -> SyncResult:
        stored = self.stored.get(info.path)
        sync = FolderSync(conn, info.path, info.special_use, notify_from=self.config.notify_from,
                          qresync_enabled=self.qresync)
        result = await sync.run(stored.state if stored and stored.state.uidvalidity is not None else None, status)
        if conn is self.conn and sync.examined:
            self.selected = info.path
        return result

    def _remember(self, result: SyncResult) -> None:
        info = self.folders.get(result.state.path)
        self.stored[result.state.path] = StoredFolder(result.state.path, info.special_use if info else None,
                                                      result.state, result.state.unseen)

    # -- the main connection ---------------------------------------------------------------------
    def _idle_path(self) -> str | None:
        watched = [info.path for info in self.folders.values() if self.filter.watches(info)]
        if "INBOX" in watched:
            return "INBOX"
        return watched[0] if watched else None

    def _notify_spec(self) -> str:
        if self.filter.entries is None:
            return f"(selected {_MESSAGE_EVENTS}) (personal {_MESSAGE_EVENTS[:-1]} MailboxName))"
        names = " ".join(quote(encode_mutf7(i.path)) for i in self.folders.values() if self.filter.watches(i))
        return f"(selected {_MESSAGE_EVENTS}) (mailboxes ({names}) {_MESSAGE_EVENTS[:-1]} MailboxName))"

    async def _watch_main(self) -> None:
        if self.conn.has("NOTIFY") and not await self.conn.notify(self._notify_spec()):
            log.info("account %s: server refused NOTIFY; other folders resync every %ss",
                     self.config.id, self._interval())
        next_resync = time.monotonic() + self._interval()
        while True:
            idle_path = self._idle_path()
            if idle_path is not None and self.selected != idle_path:
                await self.conn.examine(idle_path, condstore=self.conn.has("CONDSTORE"))
                self.selected = idle_path
            wait = max(0.0, min(self.deps.keepalive, next_resync - time.monotonic()))
            if idle_path is not None and self.conn.has("IDLE"):
                pushed = await self.conn.idle(wait, wake=self.sync_requested)
            else:
                pushed = []
                try:
                    async with asyncio.timeout(wait):
                        await self.sync_requested.wait()
                except TimeoutError:
                    pass
            if self.sync_requested.is_set() or time.monotonic() >= next_resync:
                self.sync_requested.clear()
                await self.full_sync()
                next_resync = time.monotonic() + self._interval()
            elif pushed:
                await self._follow(pushed, idle_path)
            else:
                await self.conn.noop()  # nothing for a while: prove the connection still answers

    def _interval(self) -> float:
        own = (self.config.imap or {}).get("resyncDelay")
        return float(own) if own else self.deps.resync_interval

    async def _follow(self, pushed: list[bytes], idle_path: str | None) -> None:
        changed: set[str] = set()
        relist = False
        for values in imap_parse.responses(pushed):
            if not values:
                continue
            head = str(values[0]).upper()
            kind = str(values[1]).upper() if len(values) > 1 else ""
            if kind in {"EXISTS", "EXPUNGE", "FETCH"} or head == "VANISHED":
                if idle_path:
                    changed.add(idle_path)
            elif head == "LIST":
                relist = True
        for status in imap_parse.statuses(pushed):
            changed.add(decode_mutf7(status.path))
        if relist:
            await self.full_sync()
            return
        for path in sorted(changed):
            info = self.folders.get(path)
            if info is not None and self.filter.watches(info):
                await self.sync_folder(path)

    # -- subconnections --------------------------------------------------------------------------
    def _subconnection_paths(self) -> list[str]:
        paths: list[str] = []
        for entry in self.config.subconnections:
            match = next((i for i in self.folders.values() if i.path == entry or i.special_use == entry), None)
            if match is not None and self.filter.watches(match) and match.path != self._idle_path():
                paths.append(match.path)
        return list(dict.fromkeys(paths))

    async def _subconnection(self, path: str) -> None:
        """A second connection IDLEing on one folder, reconnecting on its own when it fails."""
        attempt = 0
        assert self.plan.imap is not None and self.plan.imap_credentials is not None
        while True:
            try:
                conn = await self.deps.connector.open_imap(self.plan.imap, self.plan.imap_credentials)
            except Failure as failure:
                log.info("account %s: subconnection %s failed: %s", self.config.id, path, failure.code)
                attempt += 1
                await asyncio.sleep(self.deps.backoff.delay(attempt))
                continue
            started = time.monotonic()
            try:
                if self.qresync:
                    await conn.enable("QRESYNC")
                while True:
                    await conn.examine(path, condstore=conn.has("CONDSTORE"))
                    if await conn.idle(self.deps.keepalive):
                        await self.sync_folder(path, conn)
                    else:
                        await conn.noop()
            except Failure as failure:
                log.info("account %s: subconnection %s ended: %s", self.config.id, path, failure.code)
            finally:
                conn.abort()
            attempt = self.deps.backoff.next_attempt(attempt, time.monotonic() - started)
            await asyncio.sleep(self.deps.backoff.delay(attempt))

