"""The `mailboxes` table: per account and folder, what the last sync saw (compactly: UIDs as ranges)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailyard.store.base import Base, UTCDateTime


class FolderRecord(Base):
    __tablename__ = "mailboxes"

    account_id: Mapped[str] = mapped_column(String(256), ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    delimiter: Mapped[str | None] = mapped_column(String(8))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    special_use: Mapped[str | None] = mapped_column(String(32))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uidnext: Mapped[int | None] = mapped_column(BigInteger)
    highestmodseq: Mapped[int | None] = mapped_column(BigInteger)
    messages: Mapped[int | None] = mapped_column(Integer)
    unseen: Mapped[int | None] = mapped_column(Integer)
    uids: Mapped[str | None] = mapped_column(Text)  # UidSet text, e.g. "1:120,122"
    # UidSet text per system flag ("\\Seen": "1:100"): what messageUpdated compares against.
    flag_uids: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
