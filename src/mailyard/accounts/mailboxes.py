"""The folders of a connected account as the last sync saw them (served from the store, so listing them
never waits for, or opens, an IMAP connection)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mailyard.engine.folder_records import FolderRecord
from mailyard.store.db import Database


@dataclass(frozen=True)
class MailboxView:
    path: str
    name: str
    delimiter: str | None
    parent_path: str | None
    special_use: str | None
    subscribed: bool
    no_select: bool
    messages: int | None
    unseen: int | None
    uid_next: int | None
    uid_validity: int | None


async def list_mailboxes(db: Database, account_id: str) -> list[MailboxView]:
    rows = await db.read(select(FolderRecord.__table__).where(FolderRecord.account_id == account_id))
    views = []
    for row in rows:
        if "\\NonExistent" in (row.flags or []):
            continue  # deleted on the server; kept only to recognise a recreation
        delimiter = row.delimiter
        parent = row.path.rsplit(delimiter, 1)[0] if delimiter and delimiter in row.path else None
        views.append(MailboxView(
            path=row.path, name=row.path.rsplit(delimiter, 1)[-1] if delimiter else row.path, delimiter=delimiter,
            parent_path=parent, special_use=row.special_use, subscribed=row.subscribed,
            no_select="\\Noselect" in (row.flags or []), messages=row.messages, unseen=row.unseen,
            uid_next=row.uidnext, uid_validity=row.uidvalidity,
        ))
    # INBOX first, then the special folders, then the rest by path (as mail clients show them)
    return sorted(views, key=lambda v: (v.path.upper() != "INBOX", v.special_use is None, v.path.lower()))
