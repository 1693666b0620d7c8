"""IMAP wire-text helpers: modified UTF-7 folder names, quoted strings, LIST/LSUB parsing (quoted, atom, NIL
delimiter and literal names) and `[CODE] text` response codes."""

from __future__ import annotations

import pytest

from mailyard.engine.imap_text import ListedFolder, decode_mutf7, encode_mutf7, parse_list, quote, response_code

# -- modified UTF-7 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "wire"), [
    ("Entwürfe", "Entw&APw-rfe"),
    ("&", "&-"),
    ("日本語", "&ZeVnLIqe-"),
    ("Tom & Jerry", "Tom &- Jerry"),
    ("INBOX", "INBOX"),
])
def test_known_mutf7_encodings(text: str, wire: str) -> None:
    assert encode_mutf7(text) == wire
    assert decode_mutf7(wire) == text


@pytest.mark.parametrize("text", [
    "Entwürfe", "&", "日本語", "a&b ü", "Ünïcödé/Ordner", "Корзина", "emoji 😀 box", "&&", "ü&ü", "tab\there",
])
def test_mutf7_round_trips(text: str) -> None:
    wire = encode_mutf7(text)
    assert wire.isascii()
    assert decode_mutf7(wire) == text


def test_mutf7_uses_comma_instead_of_slash_in_base64() -> None:
    # RFC 3501 §5.1.3's example: "台北" encodes to a base64 run that holds a "/".
    assert decode_mutf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語"
    assert encode_mutf7("台北") == "&U,BTFw-"


# -- quoting -----------------------------------------------------------------------------------------


def test_quote_wraps_plain_text_in_double_quotes() -> None:
    assert quote("Sent Items") == '"Sent Items"'


def test_quote_escapes_quotes_and_backslashes() -> None:
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("a\\b") == '"a\\\\b"'
    assert quote('\\"') == '"\\\\\\""'


# -- LIST --------------------------------------------------------------------------------------------


def test_parse_list_reads_quoted_names_delimiter_and_flags() -> None:
    [listed] = parse_list([b'(\\HasNoChildren \\Sent) "/" "Sent Items"'])
    assert listed == ListedFolder("Sent Items", "/", frozenset({"\\HasNoChildren", "\\Sent"}))


@pytest.mark.parametrize("line", [
    b'LIST (\\HasChildren) "." INBOX',
    b'(\\HasChildren) "." INBOX',
    b'LSUB (\\HasChildren) "." INBOX',
    b'list (\\HasChildren) "." "INBOX"',
])
def test_parse_list_accepts_lines_with_or_without_the_leading_keyword(line: bytes) -> None:
    assert parse_list([line]) == [ListedFolder("INBOX", ".", frozenset({"\\HasChildren"}))]


def test_parse_list_reads_nil_delimiter() -> None:
    [listed] = parse_list([b'(\\Noselect) NIL "Top Level"'])
    assert listed.delimiter is None
    assert listed.path == "Top Level"
    assert listed.parent_path is None


def test_parse_list_reads_empty_flags() -> None:
    [listed] = parse_list([b'() "/" Archive'])
    assert listed.flags == frozenset()


def test_parse_list_reads_a_literal_name_from_the_next_line() -> None:
    lines: list[bytes | bytearray] = [
        b'(\\HasNoChildren) "/" {12}',
        bytearray(b"Entw&APw-rfe"),
        b'(\\HasNoChildren) "/" {15+}',
        bytearray(b'Work/"quoted"\\x'),
        b'(\\HasNoChildren) "/" INBOX',
    ]
    assert [(f.path, f.delimiter) for f in parse_list(lines)] == [
        ("Entwürfe", "/"), ('Work/"quoted"\\x', "/"), ("INBOX", "/")]


def test_parse_list_unescapes_quoted_names_and_delimiters() -> None:
    folders = parse_list([b'(\\HasNoChildren) "/" "My \\"Box\\""', b'() "\\\\" "a\\\\b"'])
    assert [(f.path, f.delimiter) for f in folders] == [('My "Box"', "/"), ("a\\b", "\\")]


def test_parse_list_decodes_mutf7_names() -> None:
    [listed] = parse_list([b'(\\HasNoChildren) "/" "&ZeVnLIqe-/Entw&APw-rfe"'])
    assert listed.path == "日本語/Entwürfe"
    assert (listed.parent_path, listed.name) == ("日本語", "Entwürfe")


def test_parse_list_skips_lines_that_are_not_list_responses() -> None:
    lines: list[bytes | bytearray] = [
        b"LIST completed (0.001 + 0.000 secs).", b'(\\HasNoChildren) "/" Sent', b"Success"]
    assert [f.path for f in parse_list(lines)] == ["Sent"]


def test_parse_list_of_nothing_is_empty() -> None:
    assert parse_list([]) == []


# -- response codes ----------------------------------------------------------------------------------


def test_response_code_splits_code_and_text() -> None:
    assert response_code("[AUTHENTICATIONFAILED] Authentication failed.") == (
        "AUTHENTICATIONFAILED", "Authentication failed.")


def test_response_code_drops_code_arguments() -> None:
    assert response_code("[BADCHARSET UTF-8] unsupported") == ("BADCHARSET", "unsupported")


def test_response_code_handles_hyphenated_codes_and_surrounding_space() -> None:
    assert response_code("  [UNAVAILABLE-LATER]   Try again later  ") == ("UNAVAILABLE-LATER", "Try again later")


@pytest.mark.parametrize("text", ["Authentication failed.", "  Invalid credentials  ", "[not a code] text"])
def test_response_without_code_gives_none_and_the_trimmed_text(text: str) -> None:
    assert response_code(text) == (None, text.strip())
