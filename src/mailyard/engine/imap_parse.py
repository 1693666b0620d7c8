"""Parsing IMAP untagged responses (RFC 3501 syntax) as aioimaplib hands them over: text lines, with each
literal's bytes as the element after the line that announced it. Pure, so it is unit-tested on its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mailyard.engine.uidset import UidSet

_LITERAL_MARK = re.compile(rb"\{(\d+)\+?\}$")
_ATOM_END = b" ()[]{\"\r\n"


@dataclass(frozen=True)
class Literal:
    data: bytes


Chunk = bytes | Literal


def logical_lines(lines: list[bytes | bytearray]) -> list[list[Chunk]]:
    """Join each response line with the literals it announces and the text that continues after them."""
    responses: list[list[Chunk]] = []
    current: list[Chunk] = []
    i = 0
    while i < len(lines):
        line = bytes(lines[i])
        i += 1
        mark = _LITERAL_MARK.search(line)
        if mark and i < len(lines):
            current += [line[: mark.start()], Literal(bytes(lines[i]))]
            i += 1
            continue
        current.append(line)
        if any(isinstance(c, Literal) or c for c in current):
            responses.append(current)
        current = []
    if current:
        responses.append(current)
    return responses


class _Reader:
    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.index = 0
        self.pos = 0

    def values(self, closing: bytes | None = None) -> list[Any]:
        out: list[Any] = []
        while True:
            while (self.index < len(self.chunks) and not isinstance(self.chunks[self.index], Literal)
                   and self.pos >= len(self.chunks[self.index])):  # type: ignore[arg-type]
                self.index += 1
                self.pos = 0
            if self.index >= len(self.chunks):
                return out
            chunk = self.chunks[self.index]
            if isinstance(chunk, Literal):
                out.append(chunk.data)
                self.index += 1
                self.pos = 0
                continue
            char = chunk[self.pos : self.pos + 1]
            if char == b" ":
                self.pos += 1
            elif char == b"(":
                self.pos += 1
                out.append(self.values(b")"))
            elif char == b")":
                self.pos += 1
                if closing == b")":
                    return out
            elif char == b'"':
                out.append(self._quoted(chunk))
            else:
                out.append(self._atom(chunk))

    def _quoted(self, text: bytes) -> str:
        self.pos += 1
        buf = bytearray()
        while self.pos < len(text):
            char = text[self.pos]
            if char == 0x5C and self.pos + 1 < len(text):  # backslash escape
                buf.append(text[self.pos + 1])
                self.pos += 2
            elif char == 0x22:
                self.pos += 1
                break
            else:
                buf.append(char)
                self.pos += 1
        return buf.decode("utf-8", "replace")

    def _atom(self, text: bytes) -> Any:
        start = self.pos
        depth = 0
        while self.pos < len(text):
            char = text[self.pos : self.pos + 1]
            if char == b"[":
                depth += 1
            elif char == b"]":
                depth -= 1
            elif depth == 0 and char in _ATOM_END:
                break
            self.pos += 1
        if self.pos == start:  # a stray special character; skip it
            self.pos += 1
            return text[start : self.pos].decode("latin-1")
        atom = text[start : self.pos].decode("utf-8", "replace")
        if atom.upper() == "NIL":
            return None
        return int(atom) if atom.isdigit() else atom


def parse(chunks: list[Chunk]) -> list[Any]:
    """One logical response as nested values: int, str (atoms and quoted strings), bytes (literals),
    None (NIL) and lists (parenthesised)."""
    return _Reader(chunks).values()


def responses(lines: list[bytes | bytearray]) -> list[list[Any]]:
    return [parse(chunks) for chunks in logical_lines(lines)]


def _flags(value: Any) -> list[str]:
    # \Recent describes one session, not the message; reporting it would make every new connection's view differ.
    return [str(f) for f in value or [] if str(f).lower() != "\\recent"]


def _pairs(items: list[Any]) -> dict[str, Any]:
    return {str(items[i]).upper(): items[i + 1] for i in range(0, len(items) - 1, 2)}


@dataclass
class SelectInfo:
    """What SELECT/EXAMINE reported about a folder."""

    exists: int = 0
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    vanished: UidSet = field(default_factory=UidSet)
    changed: dict[int, list[str]] = field(default_factory=dict)  # uid → flags (QRESYNC)


_SIMPLE_SELECT = re.compile(rb"^(?:(\d+) EXISTS|OK \[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)\].*|"
                            rb"\d+ RECENT|FLAGS .*|OK \[(?:PERMANENTFLAGS|UNSEEN|READ-ONLY|READ-WRITE|CLOSED)\b.*)$",
                            re.IGNORECASE)


def select_info(lines: list[bytes | bytearray]) -> SelectInfo:
    info = SelectInfo()
    vanished: list[UidSet] = []
    rest: list[bytes | bytearray] = []
    for line in lines:
        # Most lines of a SELECT answer are one of a few fixed forms: read those without tokenising.
        match = _SIMPLE_SELECT.match(line) if isinstance(line, bytes) else None
        if match is None:
            rest.append(line)
        elif match.group(1) is not None:
            info.exists = int(match.group(1))
        elif match.group(2) is not None:
            setattr(info, match.group(2).decode().lower(), int(match.group(3)))
    for values in responses(rest):
        if len(values) >= 2 and isinstance(values[0], int) and str(values[1]).upper() == "EXISTS":
            info.exists = values[0]
        elif (values and str(values[0]).upper() == "OK" and len(values) > 1 and isinstance(values[1], str)
              and values[1].startswith("[")):
            code, _, argument = values[1][1:].rstrip("]").partition(" ")
            code = code.upper()
            number = int(argument) if argument.strip().isdigit() else None
            if code == "UIDVALIDITY":
                info.uidvalidity = number
            elif code == "UIDNEXT":
                info.uidnext = number
            elif code == "HIGHESTMODSEQ":
                info.highestmodseq = number
        elif values and str(values[0]).upper() == "VANISHED":
            vanished.append(UidSet.parse(str(values[-1])))
        elif len(values) >= 3 and str(values[1]).upper() == "FETCH" and isinstance(values[2], list):
            items = _pairs(values[2])
            if "UID" in items:
                info.changed[int(items["UID"])] = _flags(items.get("FLAGS"))
    for found in vanished:
        info.vanished = info.vanished.union(found)
    return info


@dataclass
class FetchedMessage:
    uid: int
    flags: list[str]
    size: int | None
    internaldate: str | None
    modseq: int | None
    headers: bytes | None


def fetched(lines: list[bytes | bytearray]) -> list[FetchedMessage]:
    messages: list[FetchedMessage] = []
    for values in responses(lines):
        if len(values) < 3 or str(values[1]).upper() != "FETCH" or not isinstance(values[2], list):
            continue
        items = _pairs(values[2])
        if "UID" not in items:
            continue
        headers = next((v for k, v in items.items() if k.startswith("BODY[") and isinstance(v, bytes | str)), None)
        modseq = items.get("MODSEQ")
        messages.append(FetchedMessage(
            uid=int(items["UID"]),
            flags=_flags(items.get("FLAGS")),
            size=items.get("RFC822.SIZE"),
            internaldate=items.get("INTERNALDATE"),
            modseq=int(modseq[0]) if isinstance(modseq, list) and modseq else None,
            headers=headers.encode() if isinstance(headers, str) else headers,
        ))
    return messages


def searched(lines: list[bytes | bytearray]) -> UidSet:
    """UIDs from SEARCH or ESEARCH (`UID ALL 1:5,7`) responses."""
    found = UidSet()
    for values in responses(lines):
        if not values:
            continue
        kind = str(values[0]).upper()
        if kind == "SEARCH":
            found = found.union(UidSet.of(int(v) for v in values[1:] if isinstance(v, int)))
        elif kind == "ESEARCH":
            rest = [v for v in values[1:] if not isinstance(v, list)]
            for i, value in enumerate(rest):
                if str(value).upper() == "ALL" and i + 1 < len(rest):
                    found = found.union(UidSet.parse(str(rest[i + 1])))
    return found


@dataclass(frozen=True)
class FolderStatus:
    path: str
    messages: int | None
    uidnext: int | None
    uidvalidity: int | None
    unseen: int | None
    highestmodseq: int | None


def statuses(lines: list[bytes | bytearray]) -> list[FolderStatus]:
    """STATUS responses (also the ones LIST-STATUS sends with LIST). Folder names are returned raw
    (modified UTF-7); the caller decodes them."""
    found: list[FolderStatus] = []
    for values in responses(lines):
        if len(values) < 3 or str(values[0]).upper() != "STATUS" or not isinstance(values[2], list):
            continue
        name = values[1]
        items = _pairs(values[2])
        found.append(FolderStatus(
            path=name.decode() if isinstance(name, bytes) else str(name),
            messages=items.get("MESSAGES"), uidnext=items.get("UIDNEXT"), uidvalidity=items.get("UIDVALIDITY"),
            unseen=items.get("UNSEEN"), highestmodseq=items.get("HIGHESTMODSEQ"),
        ))
    return found
