"""The per-mailbox Sieve script Dovecot/Pigeonhole runs at delivery, generated from the mailbox settings.

`render_sieve` turns `MailboxSettings` into one script with up to three rules, in this order:

1. spam: unless `spam_in_inbox`, a message with `X-Spam-Flag: YES` (any case) is filed into "Junk" (created when
   missing) and processing stops, so spam is neither answered nor forwarded;
2. autoresponder: Pigeonhole's `vacation`, answering each sender at most once per `vacation_days`, from and for the
   mailbox address. With no subject set, `:subject` is left out and Pigeonhole writes "Auto: <original subject>"
   itself (RFC 5230 §4.5), which needs no `variables` extension. When the date interval is enabled, the reply is
   limited to the days from start to end date inclusive, as calendar days in the mailbox's `timezone` (UTC when
   it is null): each bound is turned here into the UTC instant that day starts, and the script compares
   `currentdate :zone "+0000"` in ISO 8601 form with it. A fixed `:zone` offset would be wrong across daylight
   saving changes; a UTC instant computed from the time zone database is not;
3. forwards: `redirect` to each address, `redirect :copy` when `keep_copy` (otherwise the redirects cancel the
   implicit keep and the mailbox gets no copy).

Pigeonhole's vacation already refuses to answer, per RFC 5230 §4.6 and proven in tests/hosting/test_sieve.py with
sieve-test: messages with any List-Id/List-Post/List-Unsubscribe/List-Help/List-Subscribe/List-Owner/
List-Archive header, with an Auto-Submitted value other than "no", with Precedence bulk, list or junk, from
system senders (MAILER-DAEMON, owner-*, *-request), from the mailbox itself, and messages whose headers do not
name the recipient (Bcc'd list traffic). So the script adds no guards of its own.

Deployment note: Pigeonhole allows 4 redirects per message by default (`sieve_max_redirects`); a mailbox may have
up to MAX_FORWARDS forwards, so Dovecot must set `sieve_max_redirects` to at least that, or a message with more
forwards fails its script and is only kept.

Every piece of user text reaches the script through `sieve_string`, never by pasting: that is what makes Sieve
injection impossible. Two extensions must never be required here, because they give meaning to text inside
quoted strings: `variables` (expands "${...}") and `encoded-character` (decodes "${hex:...}").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from mailyard.hosting.settings import MailboxSettings

SPAM_FOLDER = "Junk"
SPAM_HEADER = "X-Spam-Flag"
DEFAULT_VACATION_DAYS = 1

# C0 controls but tab, CR and LF; DEL; C1 controls; and lone surrogates, which cannot be written as UTF-8 (a Sieve
# script must be valid UTF-8, RFC 5228 §2.2).
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A quoted string may hold line breaks only as CRLF pairs (RFC 5228 §8.1, quoted-safe), not a bare CR or LF.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def sieve_string(text: str) -> str:
    """`text` as a Sieve quoted string (RFC 5228 §2.4.2), safe for any input.

    Backslash and double quote are escaped, every line break becomes CRLF, and control characters other than
    tab, CR and LF are dropped (NUL included). Whatever the input, the result is exactly one string token.
    """
    cleaned = _LINE_BREAK.sub("\r\n", _UNWANTED.sub("", text))
    # The backslash goes first, or the backslashes added in front of quotes would be doubled again.
    escaped = cleaned.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _string_list(values: list[str]) -> str:
    return "[" + ", ".join(sieve_string(value) for value in values) + "]"


def _single_line(text: str) -> str:
    # A subject is a header: Pigeonhole would turn line breaks into U+FFFD, a space reads better.
    return _LINE_BREAKS.sub(" ", _UNWANTED.sub("", text)).strip()


def _zone(settings: MailboxSettings) -> tzinfo:
    return ZoneInfo(settings.timezone) if settings.timezone else UTC


def _day_start_utc(day: date, zone: tzinfo) -> str | None:
    """The ISO 8601 UTC instant `day` begins in `zone`, as Pigeonhole prints `currentdate :zone "+0000"`.

    None when that instant falls outside the years datetime can hold (before year 1 or after 9999): such a
    bound excludes nothing. A midnight skipped by a daylight saving change resolves to the instant the day
    actually starts; a repeated one to its first occurrence.
    """
    try:
        instant = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None
    return instant.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _window_tests(settings: MailboxSettings) -> list[str]:
    """The `currentdate` tests limiting the autoresponder to its dates; [] when it is not limited."""
    if not settings.autoresponder_intervals_enabled:
        return []
    zone = _zone(settings)
    tests: list[str] = []
    if settings.autoresponder_start_date:
        start = _day_start_utc(date.fromisoformat(settings.autoresponder_start_date), zone)
        if start is not None:
            tests.append(f'currentdate :zone "+0000" :value "ge" "iso8601" {sieve_string(start)}')
    if settings.autoresponder_end_date:
        end_day = date.fromisoformat(settings.autoresponder_end_date)
        # Inclusive end date: the window closes when the following day starts.
        end = None if end_day == date.max else _day_start_utc(end_day + timedelta(days=1), zone)
        if end is not None:
            tests.append(f'currentdate :zone "+0000" :value "lt" "iso8601" {sieve_string(end)}')
    return tests


def _vacation_command(settings: MailboxSettings, address: str, body: str, days: int) -> str:
    parts = ["vacation", f":days {days}"]
    subject = _single_line(settings.autoresponder_subject or "")
    if subject:
        parts.append(f":subject {sieve_string(subject)}")
    parts += [f":from {sieve_string(address)}", f":addresses {_string_list([address])}", sieve_string(body)]
    return " ".join(parts) + ";"


def _autoresponder_body(settings: MailboxSettings) -> str | None:
    if not settings.autoresponder_enabled or settings.autoresponder_body is None:
        return None
    body = _UNWANTED.sub("", settings.autoresponder_body)
    return body if body.strip() else None


def render_sieve(settings: MailboxSettings, address: str, *, vacation_days: int = DEFAULT_VACATION_DAYS) -> str | None:
    """The Sieve script for the mailbox `address` with `settings`, or None when no rule applies.

    `vacation_days` is how long Pigeonhole waits before answering the same sender again (at least 1, which is
    also Pigeonhole's default minimum period). The script uses LF between commands and CRLF inside strings.
    """
    if isinstance(vacation_days, bool) or not isinstance(vacation_days, int) or vacation_days < 1:
        raise ValueError("vacation_days must be a positive integer")

    extensions: set[str] = set()
    blocks: list[str] = []

    if not settings.spam_in_inbox:
        extensions |= {"fileinto", "mailbox"}
        blocks.append(
            "# Spam is filed away, and neither answered nor forwarded.\n"
            f"if header :is {sieve_string(SPAM_HEADER)} \"YES\" {{\n"
            f"    fileinto :create {sieve_string(SPAM_FOLDER)};\n"
            "    stop;\n"
            "}"
        )

    body = _autoresponder_body(settings)
    if body is not None:
        extensions.add("vacation")
        command = _vacation_command(settings, address, body, vacation_days)
        window = _window_tests(settings)
        if not window:
            blocks.append(command)
        else:
            extensions |= {"date", "relational"}
            test = window[0] if len(window) == 1 else "allof (" + ",\n          ".join(window) + ")"
            blocks.append(f"if {test} {{\n    {command}\n}}")

    if settings.forwards:
        redirect = "redirect"
        if settings.keep_copy:
            extensions.add("copy")
            redirect = "redirect :copy"
        blocks.append("\n".join(f"{redirect} {sieve_string(forward)};" for forward in settings.forwards))

    if not blocks:
        return None
    header = "# Generated by Mailyard from the mailbox settings; changes made here are overwritten.\n"
    # A script of plain redirects needs no extension, and "require []" is a syntax error.
    require = f"require {_string_list(sorted(extensions))};\n" if extensions else ""
    return header + require + "\n" + "\n\n".join(blocks) + "\n"
