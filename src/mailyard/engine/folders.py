"""Folder facts: which folder is Sent, Drafts, Junk, Trash or Archive (SPECIAL-USE flags, well-known names,
or the account's own *MailPath settings, which win)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailyard.engine.imap_text import ListedFolder

SPECIAL_FLAGS = ("\\Sent", "\\Drafts", "\\Junk", "\\Trash", "\\Archive", "\\All", "\\Flagged")
_WELL_KNOWN: dict[str, str] = {
    "sent": "\\Sent", "sent items": "\\Sent", "sent messages": "\\Sent", "sent mail": "\\Sent",
    "[gmail]/sent mail": "\\Sent", "[google mail]/sent mail": "\\Sent",
    "drafts": "\\Drafts", "draft": "\\Drafts", "[gmail]/drafts": "\\Drafts",
    "junk": "\\Junk", "spam": "\\Junk", "junk e-mail": "\\Junk", "junk email": "\\Junk", "[gmail]/spam": "\\Junk",
    "trash": "\\Trash", "deleted items": "\\Trash", "deleted messages": "\\Trash", "[gmail]/trash": "\\Trash",
    "bin": "\\Trash", "archive": "\\Archive", "archives": "\\Archive", "[gmail]/all mail": "\\All",
}
PATH_SETTINGS = {
    "sentMailPath": "\\Sent", "draftsMailPath": "\\Drafts", "junkMailPath": "\\Junk",
    "trashMailPath": "\\Trash", "archiveMailPath": "\\Archive",
}


@dataclass(frozen=True)
class FolderInfo:
    path: str
    name: str
    delimiter: str | None
    parent_path: str | None
    special_use: str | None
    special_use_source: str | None  # "user", "extension" or "name"
    listed: bool = True
    subscribed: bool = False
    no_select: bool = False


def _detected(folder: ListedFolder) -> tuple[str | None, str | None]:
    if folder.path.upper() == "INBOX":
        return "\\Inbox", "name"
    flags = {f.lower() for f in folder.flags}
    for flag in SPECIAL_FLAGS:
        if flag.lower() in flags:
            return flag, "extension"
    well_known = _WELL_KNOWN.get(folder.path.lower()) or _WELL_KNOWN.get(folder.name.lower())
    return (well_known, "name") if well_known else (None, None)


def describe(folders: list[ListedFolder], imap_settings: dict[str, Any] | None,
             subscribed: set[str] | None = None) -> list[FolderInfo]:
    """Folders with their special use. A *MailPath setting claims its role; no other folder keeps it."""
    overrides = {v: (imap_settings or {}).get(k) for k, v in PATH_SETTINGS.items() if (imap_settings or {}).get(k)}
    detected = [_detected(folder) for folder in folders]
    # A role the server marks with a SPECIAL-USE flag is not also given to a folder by its name.
    flagged_roles = {use for use, source in detected if source == "extension"}
    infos: list[FolderInfo] = []
    for folder, (use, source) in zip(folders, detected, strict=True):
        if source == "name" and use in flagged_roles:
            use, source = None, None
        for role, path in overrides.items():
            if folder.path == path:
                use, source = role, "user"
            elif use == role:
                use, source = None, None
        infos.append(FolderInfo(
            path=folder.path, name=folder.name, delimiter=folder.delimiter, parent_path=folder.parent_path,
            special_use=use, special_use_source=source,
            subscribed=folder.path in subscribed if subscribed is not None else False,
            no_select=any(f.lower() in {"\\noselect", "\\nonexistent"} for f in folder.flags),
        ))
    return infos
