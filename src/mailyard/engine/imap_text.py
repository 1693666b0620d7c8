"""Pure helpers for IMAP wire text: quoting, modified UTF-7 folder names, LIST and response-code parsing."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass


def quote(value: str) -> str:
    """An IMAP quoted string (RFC 3501 §4.3)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def decode_mutf7(name: str) -> str:
    """Modified UTF-7 (RFC 3501 §5.1.3) to text."""
    out: list[str] = []
    i = 0
    while i < len(name):
        if name[i] == "&":
            end = name.index("-", i)
            chunk = name[i + 1 : end]
            if not chunk:
                out.append("&")
            else:
                raw = chunk.replace(",", "/")
                raw += "=" * (-len(raw) % 4)
                out.append(base64.b64decode(raw).decode("utf-16-be"))
            i = end + 1
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def encode_mutf7(text: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")
            pending.clear()

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


@dataclass(frozen=True)
class ListedFolder:
    path: str  # decoded
    delimiter: str | None
    flags: frozenset[str]

    @property
    def name(self) -> str:
        return self.path.rsplit(self.delimiter, 1)[-1] if self.delimiter else self.path

    @property
    def parent_path(self) -> str | None:
        if self.delimiter and self.delimiter in self.path:
            return self.path.rsplit(self.delimiter, 1)[0]
        return None


_LIST_HEAD = re.compile(
    rb'^(?:(?:LIST|LSUB) )?\((?P<flags>[^)]*)\) (?P<delim>NIL|"(?:\\.|[^"\\])*") ?(?P<rest>.*)$', re.I
)


def _unquote(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_list(lines: list[bytes | bytearray]) -> list[ListedFolder]:
    """LIST (or LSUB) untagged responses, with literal folder names, as folders."""
    folders: list[ListedFolder] = []
    i = 0
    while i < len(lines):
        line = bytes(lines[i])
        match = _LIST_HEAD.match(line)
        i += 1
        if not match:
            continue
        delim_raw = match.group("delim")
        delimiter = None if delim_raw.upper() == b"NIL" else _unquote(delim_raw)
        rest = match.group("rest").strip()
        literal = re.fullmatch(rb"\{(\d+)\+?\}", rest)
        if literal and i < len(lines):
            raw_name = bytes(lines[i])[: int(literal.group(1))].decode("utf-8", "replace")
            i += 1
        else:
            raw_name = _unquote(rest)
        flags = frozenset(f for f in match.group("flags").decode().split() if f)
        folders.append(ListedFolder(decode_mutf7(raw_name), delimiter, flags))
    return folders


_CODE = re.compile(r"^\[(?P<code>[A-Z-]+)(?: [^\]]*)?\]\s*(?P<text>.*)$")


def response_code(text: str) -> tuple[str | None, str]:
    """`[AUTHENTICATIONFAILED] Authentication failed.` → ("AUTHENTICATIONFAILED", "Authentication failed.")."""
    match = _CODE.match(text.strip())
    if not match:
        return None, text.strip()
    return match.group("code"), match.group("text")
