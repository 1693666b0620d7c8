"""Syncing one folder: what changed since the stored state, as events and a new state.

New mail is found through UIDNEXT; deletions by QRESYNC's VANISHED where offered, else by comparing UID
SEARCH ALL with the known UID set; flag changes by CONDSTORE's CHANGEDSINCE where offered, else by
comparing per-flag UID sets (UID SEARCH SEEN …). The first sync of a folder records its state and
announces nothing; a UIDVALIDITY change announces one `mailboxReset`, never its messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from mailyard.engine.imap_parse import FetchedMessage, FolderStatus, SelectInfo
from mailyard.engine.message_info import FETCH_ITEMS, describe, internal_date, message_id
from mailyard.engine.uidset import UidSet
from mailyard.events.outbox import NewEvent
from mailyard.events.types import EventType

# System flags whose UID sets are kept, so messageUpdated can say what was added and removed.
TRACKED_FLAGS: dict[str, str] = {
    "\\Seen": "SEEN", "\\Flagged": "FLAGGED", "\\Answered": "ANSWERED", "\\Deleted": "DELETED", "\\Draft": "DRAFT",
}
_FETCH_BATCH = 500
_FETCH_ALL_FLAGS_UP_TO = 1000


class FolderConnection(Protocol):
    def has(self, capability: str) -> bool: ...

    async def examine(self, path: str, *, condstore: bool = False,
                      qresync: tuple[int, int, UidSet] | None = None) -> SelectInfo: ...

    async def uid_search(self, *criteria: str) -> UidSet: ...

    async def uid_fetch(self, uids: UidSet | str, items: str, *, changed_since: int | None = None,
                        vanished: bool = False) -> tuple[list[FetchedMessage], UidSet]: ...


@dataclass
class FolderState:
    path: str
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    messages: int | None = None
    uids: UidSet = field(default_factory=UidSet)
    flags: dict[str, UidSet] = field(default_factory=dict)

    @property
    def unseen(self) -> int:
        return len(self.uids.difference(self.flags.get("\\Seen", UidSet())))


@dataclass
class SyncResult:
    state: FolderState
    events: list[NewEvent]


def _flag_changes(uid: int, flags: list[str], before: dict[str, UidSet]) -> dict[str, list[str]]:
    added = [f for f in TRACKED_FLAGS if f in flags and uid not in before.get(f, UidSet())]
    removed = [f for f in TRACKED_FLAGS if f not in flags and uid in before.get(f, UidSet())]
    return {"added": added, "removed": removed, "value": flags}


def _with_flags(flags: dict[str, UidSet], observed: dict[int, list[str]]) -> dict[str, UidSet]:
    """The per-flag sets after the observed messages' flags replace what was known of them."""
    touched = UidSet.of(observed)
    result: dict[str, UidSet] = {}
    for flag in TRACKED_FLAGS:
        carrying = UidSet.of(uid for uid, value in observed.items() if flag in value)
        result[flag] = flags.get(flag, UidSet()).difference(touched).union(carrying)
    return result


class FolderSync:
    """Syncs one folder on an open connection; pure logic over the connection's results."""

    def __init__(self, conn: FolderConnection, path: str, special_use: str | None, *,
                 notify_from: datetime | None = None, qresync_enabled: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.special_use = special_use
        self.notify_from = notify_from
        self.qresync = qresync_enabled
        self.condstore = conn.has("CONDSTORE")
        self.examined = False  # whether run() left this folder selected on the connection

    def _event(self, kind: EventType, data: dict[str, object]) -> NewEvent:
        return NewEvent(kind, data, path=self.path, special_use=self.special_use)

    async def run(self, stored: FolderState | None, status: FolderStatus | None = None) -> SyncResult:
        """`status`, when the caller has a fresh STATUS of the folder, lets an empty folder be recorded
        without opening it (most Drafts, Junk and Trash folders are empty)."""
        if status is not None and status.messages == 0 and status.uidvalidity is not None and (
                stored is None or stored.uidvalidity != status.uidvalidity or not stored.uids):
            state = FolderState(self.path, status.uidvalidity, status.uidnext, status.highestmodseq, 0)
            if stored is None or stored.uidvalidity is None:
                return SyncResult(state, [])
            if stored.uidvalidity != status.uidvalidity:
                return SyncResult(state, [self._reset_event(status.uidvalidity, stored.uidvalidity)])
            return SyncResult(state, [])
        self.examined = True
        use_qresync = (self.qresync and stored is not None and stored.uidvalidity is not None
                       and stored.highestmodseq is not None)
        if use_qresync:
            assert stored is not None and stored.uidvalidity is not None and stored.highestmodseq is not None
            info = await self.conn.examine(self.path, qresync=(stored.uidvalidity, stored.highestmodseq, stored.uids))
        else:
            info = await self.conn.examine(self.path, condstore=self.condstore)
        if stored is None or stored.uidvalidity is None:
            return SyncResult(await self._snapshot(info), [])
        if info.uidvalidity != stored.uidvalidity:
            return SyncResult(await self._snapshot(info), [self._reset_event(info.uidvalidity, stored.uidvalidity)])
        if self._unchanged(info, stored):
            return SyncResult(replace(stored, messages=info.exists), [])
        return await self._changes(info, stored, use_qresync)

    def _reset_event(self, uidvalidity: int | None, previous: int | None) -> NewEvent:
        return self._event(EventType.MAILBOX_RESET, {
            "path": self.path, "uidValidity": str(uidvalidity), "prevUidValidity": str(previous)})

    def _unchanged(self, info: SelectInfo, stored: FolderState) -> bool:
        if info.uidnext != stored.uidnext or info.exists != stored.messages:
            return False
        # Without CONDSTORE a flag change is invisible here; the caller's full resync still compares flags.
        return self.condstore and info.highestmodseq is not None and info.highestmodseq == stored.highestmodseq

    async def _snapshot(self, info: SelectInfo) -> FolderState:
        if info.exists == 0:
            return FolderState(self.path, info.uidvalidity, info.uidnext, info.highestmodseq, 0, UidSet(), {})
        if info.exists <= _FETCH_ALL_FLAGS_UP_TO:
            # One FETCH answers both questions for a small folder; big ones get compact ESEARCH ranges.
            messages, _ = await self.conn.uid_fetch("1:*", "UID FLAGS")
            flags = _with_flags({}, {m.uid: m.flags for m in messages})
            return FolderState(self.path, info.uidvalidity, info.uidnext, info.highestmodseq, info.exists,
                               UidSet.of(m.uid for m in messages), flags)
        return FolderState(self.path, info.uidvalidity, info.uidnext, info.highestmodseq, info.exists,
                           await self.conn.uid_search("ALL"), await self._flag_sets())

    async def _flag_sets(self) -> dict[str, UidSet]:
        return {flag: await self.conn.uid_search(key) for flag, key in TRACKED_FLAGS.items()}

    async def _changes(self, info: SelectInfo, stored: FolderState, use_qresync: bool) -> SyncResult:
        if use_qresync:
            vanished = info.vanished.intersection(stored.uids)
            new_uids = UidSet()
            if info.uidnext != stored.uidnext:
                first = stored.uidnext or 1
                # "n:*" always matches the highest UID, even below n: keep only what is really new.
                new_uids = UidSet.of(u for u in await self.conn.uid_search(f"UID {first}:*") if u >= first)
            current = stored.uids.difference(vanished).union(new_uids)
            changed_flags = {uid: flags for uid, flags in info.changed.items() if uid in current}
        else:
            current = await self.conn.uid_search("ALL")
            vanished = stored.uids.difference(current)
            new_uids = current.difference(stored.uids)
            changed_flags = await self._changed_flags(stored, current.difference(new_uids))

        uidvalidity = stored.uidvalidity or 0
        events = [self._event(EventType.MESSAGE_DELETED, {
            "id": message_id(self.path, uidvalidity, uid), "uid": uid, "path": self.path}) for uid in vanished]
        before = {flag: uids.difference(vanished) for flag, uids in stored.flags.items()}
        observed: dict[int, list[str]] = {}
        for uid, value in sorted(changed_flags.items()):
            if uid in new_uids:
                continue
            changes = _flag_changes(uid, value, before)
            # With CONDSTORE the server says the message changed (keywords count too); without it only
            # messages whose tracked flags moved are here.
            if changes["added"] or changes["removed"] or self.condstore:
                events.append(self._event(EventType.MESSAGE_UPDATED, {
                    "id": message_id(self.path, uidvalidity, uid), "uid": uid, "path": self.path,
                    "changes": {"flags": changes}}))
            observed[uid] = value
        for message in await self._fetch_new(new_uids):
            observed[message.uid] = message.flags
            if not self._before_notify_from(message):
                events.append(self._event(EventType.MESSAGE_NEW, describe(
                    message.headers, uid=message.uid, path=self.path, uidvalidity=uidvalidity,
                    flags=message.flags, size=message.size, internaldate=message.internaldate)))
        state = FolderState(self.path, stored.uidvalidity, info.uidnext, info.highestmodseq, info.exists,
                            current, _with_flags(before, observed))
        return SyncResult(state, events)

    async def _changed_flags(self, stored: FolderState, known: UidSet) -> dict[int, list[str]]:
        if not known:
            return {}
        if self.condstore and stored.highestmodseq is not None:
            messages, _ = await self.conn.uid_fetch(known, "UID FLAGS", changed_since=stored.highestmodseq)
            return {m.uid: m.flags for m in messages if m.uid in known}
        # No CONDSTORE: compare the per-flag sets; only messages whose tracked flags moved are reported.
        now = await self._flag_sets()
        moved = UidSet()
        for flag, uids in now.items():
            before = stored.flags.get(flag, UidSet())
            moved = moved.union(uids.difference(before)).union(before.difference(uids))
        moved = moved.intersection(known)
        if not moved:
            return {}
        messages, _ = await self.conn.uid_fetch(moved, "UID FLAGS")
        return {m.uid: m.flags for m in messages}

    async def _fetch_new(self, uids: UidSet) -> list[FetchedMessage]:
        found: list[FetchedMessage] = []
        batch: list[int] = []
        for uid in uids:
            batch.append(uid)
            if len(batch) == _FETCH_BATCH:
                found += (await self.conn.uid_fetch(UidSet.of(batch), FETCH_ITEMS))[0]
                batch = []
        if batch:
            found += (await self.conn.uid_fetch(UidSet.of(batch), FETCH_ITEMS))[0]
        wanted = set(uids)
        return sorted((m for m in found if m.uid in wanted), key=lambda m: m.uid)

    def _before_notify_from(self, message: FetchedMessage) -> bool:
        if self.notify_from is None:
            return False
        arrived = internal_date(message.internaldate)
        return arrived is not None and arrived < self.notify_from
