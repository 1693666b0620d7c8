"""The generated Sieve scripts, checked with Pigeonhole's own tools: `sievec` compiles them and `sieve-test` shows
what they do to a message (without -e: the planned actions; with -e: what executing them sends or discards)."""

from __future__ import annotations

import email
import email.policy
import itertools
import os
import pwd
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailyard.hosting.settings import MAX_FORWARDS, MailboxSettings
from mailyard.hosting.sieve import render_sieve, sieve_string

SIEVEC = Path("/usr/bin/sievec")
SIEVE_TEST = Path("/usr/bin/sieve-test")
MAILBOX = "mario@example.com"
SENDER = "alice@example.org"
INJECTION = 'Hi "; discard; " \\ \\" \\\\\ntext:\n.\nstop; ${hex:41} }'


def _require_tools() -> None:
    for tool in (SIEVEC, SIEVE_TEST):
        if not tool.exists():
            pytest.fail(f"{tool} is missing: install the Debian package dovecot-sieve (Pigeonhole) to run these tests")


@dataclass(frozen=True)
class Outcome:
    """What sieve-test reported for one message."""

    actions: list[str]  # "Performed actions", one line each (the vacation text and details left out)
    keep: list[str]  # "Implicit keep": [] when it was cancelled
    stdout: str
    stderr: str

    @property
    def replied(self) -> bool:
        return "sent vacation response to <" in self.stderr

    def reply(self) -> EmailMessage:
        # With -e, sieve-test prints each outgoing message, then a RECIPIENT/START/END trailer.
        raw = self.stdout.split("\nRECIPIENT: ")[0]
        message = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


def _section(lines: list[str]) -> list[str]:
    found: list[str] = []
    in_text = False
    for line in lines:
        if line.startswith("START MESSAGE"):
            in_text = True
        elif line.startswith("END MESSAGE"):
            in_text = False
        elif not in_text and line.startswith(" * "):
            found.append(line[3:].strip())
    return found


@dataclass
class SieveTools:
    """Runs sievec and sieve-test in `root`, with a minimal Dovecot configuration of its own."""

    root: Path
    privilege_options: list[str]
    runs: int = 0

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8", newline="")
        path.chmod(0o644)
        return path

    def compiles(self, script: str) -> bool:
        return self._sievec(script).returncode == 0

    def compile(self, script: str) -> Path:
        result = self._sievec(script)
        assert result.returncode == 0, f"sievec rejected the script:\n{result.stderr}\n--- script ---\n{script}"
        return Path(result.args[1])

    def _sievec(self, script: str) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        path = self.write(f"script{self.runs}.sieve", script)
        return subprocess.run([str(SIEVEC), str(path)], capture_output=True, text=True, check=False)

    def run(self, script: str, message: str, *, sender: str = SENDER, execute: bool = False,
            options: tuple[str, ...] = (), succeeds: bool = True) -> Outcome:
        path = self.compile(script)
        config = self.write("dovecot.conf", f"mail_location = maildir:{self.root}/Maildir\n")
        mail = self.write(f"message{self.runs}.eml", message)
        command = [str(SIEVE_TEST), "-c", str(config), *self.privilege_options, *options, "-C",
                   "-a", MAILBOX, "-r", MAILBOX, "-f", sender, *(["-e"] if execute else []), str(path), str(mail)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        report = f"sieve-test exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
        assert (result.returncode == 0) is succeeds, report
        before, _, after = result.stdout.partition("\nImplicit keep:")
        return Outcome(_section(before.splitlines()), _section(after.splitlines()), result.stdout, result.stderr)


@pytest.fixture
def sieve(tmp_path: Path) -> Iterator[SieveTools]:
    _require_tools()
    if os.geteuid() != 0:
        yield SieveTools(tmp_path, [])
        return
    # sieve-test will not run as root: it switches to mail_uid before reading the script and message, and
    # pytest's temporary root is private to root. So, as root, the files live in a directory of that user.
    try:
        user = pwd.getpwnam("nobody")
        uid, gid = user.pw_uid, user.pw_gid
    except KeyError:
        uid = gid = 65534
    with tempfile.TemporaryDirectory(prefix="mailyard-sieve-") as name:
        os.chown(name, uid, gid)
        yield SieveTools(Path(name), ["-o", f"mail_uid={uid}", "-o", f"mail_gid={gid}"])


def _message(*headers: str, to: str = MAILBOX, subject: str = "hello") -> str:
    return "\n".join([
        f"From: Alice <{SENDER}>", f"To: {to}", f"Subject: {subject}", "Message-ID: <1@example.org>",
        "Date: Mon, 1 Jan 2024 10:00:00 +0000", *headers, "", "Hello there.", "",
    ])


def _settings(**changes: Any) -> MailboxSettings:
    return MailboxSettings.model_validate(changes)


def _away(**changes: Any) -> MailboxSettings:
    return _settings(autoresponder_enabled=True, autoresponder_subject="Out of office",
                     autoresponder_body="I am away.", **changes)


def _script(settings: MailboxSettings, **kwargs: Any) -> str:
    script = render_sieve(settings, MAILBOX, **kwargs)
    assert script is not None
    return script


AUTORESPONDERS: dict[str, dict[str, Any]] = {
    "no-autoresponder": {},
    "default-subject": {"autoresponder_enabled": True, "autoresponder_body": "Away."},
    "subject": {"autoresponder_enabled": True, "autoresponder_subject": "Away", "autoresponder_body": "Away.\nBye."},
    "window": {"autoresponder_enabled": True, "autoresponder_body": "Away.", "autoresponder_intervals_enabled": True,
               "autoresponder_start_date": "2024-07-01", "autoresponder_end_date": "2024-07-15"},
    "start-only-in-zone": {"autoresponder_enabled": True, "autoresponder_body": "Away.", "timezone": "Asia/Tokyo",
                           "autoresponder_intervals_enabled": True, "autoresponder_start_date": "2024-07-01"},
    "end-only": {"autoresponder_enabled": True, "autoresponder_body": "Away.", "autoresponder_intervals_enabled": True,
                 "autoresponder_end_date": "2024-07-15"},
    "dates-ignored": {"autoresponder_enabled": True, "autoresponder_body": "Away.",
                      "autoresponder_start_date": "2024-07-01", "autoresponder_end_date": "2024-07-15"},
}
FORWARDS: dict[str, dict[str, Any]] = {
    "no-forwards": {},
    "forward-keep": {"forwards": ["a@example.net", "b@example.net"], "keep_copy": True},
    "forward-move": {"forwards": ["a@example.net"], "keep_copy": False},
}
MATRIX = [
    pytest.param({"spam_in_inbox": spam, **AUTORESPONDERS[auto], **FORWARDS[fwd]}, id=f"inbox-spam={spam}-{auto}-{fwd}")
    for spam, auto, fwd in itertools.product([False, True], AUTORESPONDERS, FORWARDS)
]


@pytest.mark.parametrize("changes", MATRIX)
def test_every_script_compiles_and_requires_exactly_the_extensions_it_uses(
    sieve: SieveTools, changes: dict[str, Any]
) -> None:
    script = render_sieve(_settings(**changes), MAILBOX)
    if script is None:
        assert changes["spam_in_inbox"] and "forwards" not in changes and "autoresponder_body" not in changes
        return
    sieve.compile(script)
    required = re.search(r"^require \[(.*)\];$", script, re.MULTILINE)
    if required is None:
        assert changes == {"spam_in_inbox": True, **FORWARDS["forward-move"]}, "only bare redirects need nothing"
        return
    extensions = re.findall(r'"([^"]+)"', required.group(1))
    # These two would give meaning to text inside quoted strings, undoing sieve_string's protection.
    assert not {"variables", "encoded-character"} & set(extensions)
    for extension in extensions:
        others = [name for name in extensions if name != extension]
        line = "require [" + ", ".join(sieve_string(name) for name in others) + "];" if others else ""
        without = script.replace(required.group(0), line, 1)
        assert not sieve.compiles(without), f"{extension} is required but the script compiles without it"


def test_nothing_to_do_renders_no_script() -> None:
    assert render_sieve(_settings(spam_in_inbox=True), MAILBOX) is None
    assert render_sieve(_settings(spam_in_inbox=True, autoresponder_enabled=True, autoresponder_body=" \n"),
                        MAILBOX) is None
    assert render_sieve(_settings(spam_in_inbox=True, autoresponder_body="Away."), MAILBOX) is None


def test_sieve_string_escapes_quotes_and_backslashes() -> None:
    assert sieve_string('say "hi" \\o/') == '"say \\"hi\\" \\\\o/"'


def test_sieve_string_turns_every_line_break_into_crlf() -> None:
    assert sieve_string("a\nb\rc\r\nd") == '"a\r\nb\r\nc\r\nd"'


def test_sieve_string_drops_control_characters_but_keeps_tabs() -> None:
    assert sieve_string("\x00a\x07\tb\x1b\x7f\x85c\ud800") == '"a\tbc"'


def test_vacation_days_must_be_positive() -> None:
    assert ":days 7 " in _script(_away(), vacation_days=7)
    with pytest.raises(ValueError, match="vacation_days"):
        render_sieve(_away(), MAILBOX, vacation_days=0)


def test_spam_is_filed_into_junk_and_neither_answered_nor_forwarded(sieve: SieveTools) -> None:
    script = _script(_away(forwards=["a@example.net"], keep_copy=True))
    for flag in ("YES", "yes"):
        outcome = sieve.run(script, _message(f"X-Spam-Flag: {flag}"))
        assert outcome.actions == ["store message in folder: Junk"]
        assert outcome.keep == []


def test_spam_in_inbox_keeps_spam_in_the_inbox(sieve: SieveTools) -> None:
    script = _script(_settings(spam_in_inbox=True, forwards=["a@example.net"]))
    outcome = sieve.run(script, _message("X-Spam-Flag: YES"))
    assert outcome.actions == ["redirect message to: <a@example.net>"]
    assert outcome.keep == ["store message in folder: INBOX"]


def test_message_without_spam_flag_is_not_filed_into_junk(sieve: SieveTools) -> None:
    outcome = sieve.run(_script(_settings()), _message("X-Spam-Flag: NO"))
    assert outcome.actions == []
    assert outcome.keep == ["store message in folder: INBOX"]


def test_vacation_answers_an_ordinary_message_from_the_mailbox(sieve: SieveTools) -> None:
    outcome = sieve.run(_script(_away()), _message(), execute=True)
    assert outcome.replied
    reply = outcome.reply()
    assert reply["From"] == MAILBOX
    assert reply["To"] == f"Alice <{SENDER}>"
    assert reply["Subject"] == "Out of office"
    assert reply.get_content().strip() == "I am away."


def test_vacation_without_subject_answers_with_auto_and_the_original_subject(sieve: SieveTools) -> None:
    settings = _settings(autoresponder_enabled=True, autoresponder_body="I am away.")
    outcome = sieve.run(_script(settings), _message(subject="Lunch?"), execute=True)
    assert outcome.replied
    assert outcome.reply()["Subject"] == "Auto: Lunch?"


@pytest.mark.parametrize("header", [
    "List-Id: <team.lists.example.org>", "List-Post: <mailto:team@lists.example.org>",
    "List-Unsubscribe: <mailto:leave@lists.example.org>", "List-Help: <mailto:help@lists.example.org>",
    "List-Subscribe: <mailto:join@lists.example.org>", "List-Owner: <mailto:owner@lists.example.org>",
    "List-Archive: <https://lists.example.org/team>", "Auto-Submitted: auto-replied",
    "Auto-Submitted: auto-generated", "Precedence: bulk", "Precedence: list", "Precedence: junk",
])
def test_pigeonhole_does_not_answer_lists_or_automatic_mail(sieve: SieveTools, header: str) -> None:
    outcome = sieve.run(_script(_away()), _message(header), execute=True)
    assert not outcome.replied
    assert "discarding vacation response" in outcome.stderr


SYSTEM = "not sending vacation response to system address"


@pytest.mark.parametrize(("sender", "to", "log"), [
    pytest.param("MAILER-DAEMON@example.org", MAILBOX, SYSTEM, id="mailer-daemon"),
    pytest.param("owner-team@example.org", MAILBOX, SYSTEM, id="list-owner"),
    pytest.param("team-request@example.org", MAILBOX, SYSTEM, id="list-request"),
    pytest.param(MAILBOX, MAILBOX, "discarded vacation reply to own address", id="own-address"),
    pytest.param(SENDER, "everyone@example.org", "discarding vacation response for implicitly delivered message",
                 id="not-addressed-to-mailbox"),
])
def test_pigeonhole_does_not_answer_system_senders_itself_or_mail_not_addressed_to_it(
    sieve: SieveTools, sender: str, to: str, log: str
) -> None:
    outcome = sieve.run(_script(_away()), _message(to=to), sender=sender, execute=True)
    assert not outcome.replied
    assert log in outcome.stderr


def test_auto_submitted_no_is_answered(sieve: SieveTools) -> None:
    assert sieve.run(_script(_away()), _message("Auto-Submitted: no"), execute=True).replied


def _window(start: date | None, end: date | None, timezone: str | None = None) -> MailboxSettings:
    return _away(autoresponder_intervals_enabled=True, timezone=timezone,
                 autoresponder_start_date=start.isoformat() if start else None,
                 autoresponder_end_date=end.isoformat() if end else None)


def _vacation_planned(sieve: SieveTools, settings: MailboxSettings) -> bool:
    actions = sieve.run(_script(settings), _message()).actions
    return "send vacation message:" in actions


@pytest.mark.parametrize(("start", "end", "answers"), [
    pytest.param(-10, -5, False, id="window-over"),
    pytest.param(5, 10, False, id="window-ahead"),
    pytest.param(-1, 1, True, id="inside-window"),
    pytest.param(0, 0, True, id="single-day-today"),
    pytest.param(-3, None, True, id="started-no-end"),
    pytest.param(2, None, False, id="starts-later"),
    pytest.param(None, -1, False, id="ended-yesterday"),
    pytest.param(None, 0, True, id="ends-today"),
])
def test_vacation_answers_only_inside_its_date_window(
    sieve: SieveTools, start: int | None, end: int | None, answers: bool
) -> None:
    def day(offset: int | None) -> date | None:
        return None if offset is None else datetime.now(UTC).date() + timedelta(days=offset)

    assert _vacation_planned(sieve, _window(day(start), day(end))) is answers


def test_dates_are_ignored_while_the_interval_is_disabled(sieve: SieveTools) -> None:
    past = datetime.now(UTC).date() - timedelta(days=10)
    settings = _away(autoresponder_start_date=past.isoformat(), autoresponder_end_date=past.isoformat())
    assert _vacation_planned(sieve, settings)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_window_dates_are_days_in_the_mailbox_time_zone(sieve: SieveTools, zone: str) -> None:
    # UTC+14 and UTC-11: for most of the day their date is not the UTC date, so UTC dates would get this wrong.
    local_today = datetime.now(ZoneInfo(zone)).date()
    yesterday = local_today - timedelta(days=1)
    assert _vacation_planned(sieve, _window(local_today, local_today, zone))
    assert not _vacation_planned(sieve, _window(yesterday, yesterday, zone))


def test_window_bounds_follow_daylight_saving_time() -> None:
    # New York switched to summer time on 2024-03-10: that day starts at 05:00 UTC, the next one at 04:00 UTC.
    script = _script(_window(date(2024, 3, 10), date(2024, 3, 10), "America/New_York"))
    assert '"ge" "iso8601" "2024-03-10T05:00:00Z"' in script
    assert '"lt" "iso8601" "2024-03-11T04:00:00Z"' in script


def test_forwards_with_keep_copy_redirect_and_keep(sieve: SieveTools) -> None:
    script = _script(_settings(forwards=["a@example.net", "b@example.net"], keep_copy=True))
    outcome = sieve.run(script, _message())
    assert outcome.actions == ["redirect message to: <a@example.net>", "redirect message to: <b@example.net>"]
    assert outcome.keep == ["store message in folder: INBOX"]


def test_forwards_without_keep_copy_only_redirect(sieve: SieveTools) -> None:
    script = _script(_settings(forwards=["a@example.net", "b@example.net"], keep_copy=False))
    outcome = sieve.run(script, _message())
    assert outcome.actions == ["redirect message to: <a@example.net>", "redirect message to: <b@example.net>"]
    assert outcome.keep == []


def test_all_three_rules_answer_forward_and_keep_an_ordinary_message(sieve: SieveTools) -> None:
    script = _script(_away(forwards=["a@example.net"], keep_copy=True))
    outcome = sieve.run(script, _message())
    assert outcome.actions == ["send vacation message:", "redirect message to: <a@example.net>"]
    assert outcome.keep == ["store message in folder: INBOX"]


def test_every_allowed_forward_is_redirected_once_dovecot_allows_that_many(sieve: SieveTools) -> None:
    forwards = [f"f{n}@example.net" for n in range(MAX_FORWARDS)]
    script = _script(_settings(forwards=forwards, keep_copy=False))
    raised = sieve.run(script, _message(), options=("-o", f"plugin/sieve_max_redirects={MAX_FORWARDS}"))
    assert raised.actions == [f"redirect message to: <{forward}>" for forward in forwards]
    # Pigeonhole's default limit is 4: the deployment must raise sieve_max_redirects (see the module docstring).
    default = sieve.run(script, _message(), succeeds=False)
    assert "number of redirect actions exceeds policy limit (5 > 4)" in default.stderr
    assert "resolved with successful implicit keep" in default.stderr


def _injected(**changes: Any) -> MailboxSettings:
    # model_construct skips validation, as if hostile text had got past it: the script must hold on its own.
    base = {"autoresponder_enabled": True, "autoresponder_subject": "Away", "autoresponder_body": "Away.",
            "keep_copy": True}
    return MailboxSettings.model_construct(**{**base, **changes})


def _assert_not_injected(sieve: SieveTools, field: str) -> Outcome:
    """Runs the hostile `field` with a forward (which an injected discard or stop would change), then alone with -e."""
    planned = sieve.run(_script(_injected(**{field: INJECTION}, forwards=["a@example.net"])), _message())
    assert planned.actions == ["send vacation message:", "redirect message to: <a@example.net>"]
    assert planned.keep == ["store message in folder: INBOX"]
    outcome = sieve.run(_script(_injected(**{field: INJECTION})), _message(), execute=True)
    assert outcome.replied
    return outcome


def test_injection_in_the_body_arrives_literally(sieve: SieveTools) -> None:
    outcome = _assert_not_injected(sieve, "autoresponder_body")
    assert outcome.reply().get_content().rstrip("\n") == INJECTION


def test_injection_in_the_subject_arrives_literally_on_one_line(sieve: SieveTools) -> None:
    outcome = _assert_not_injected(sieve, "autoresponder_subject")
    assert outcome.reply()["Subject"] == " ".join(INJECTION.splitlines())


def test_injection_in_a_forward_address_stays_one_address(sieve: SieveTools) -> None:
    # A quoted local part is a valid address, so the hostile text survives to the redirect, still as one address.
    forward = '"x\\"; discard; redirect \\"evil@example.net"@example.com'
    script = _script(_injected(autoresponder_enabled=False, forwards=[forward], keep_copy=True))
    outcome = sieve.run(script, _message())
    assert outcome.actions == [f"redirect message to: <{forward}>"]
    assert outcome.keep == ["store message in folder: INBOX"]


def test_unparsable_forward_address_fails_to_compile_instead_of_running_the_injection(sieve: SieveTools) -> None:
    script = _script(_injected(autoresponder_enabled=False, forwards=['a"; discard; "@example.com']))
    assert not sieve.compiles(script)


BOUNCE_MSG = 'Closed "; keep; redirect "evil@example.net"; " \\ ${hex:41} }'


def test_bounce_mail_rejects_with_the_bounce_message_before_any_other_rule(sieve: SieveTools) -> None:
    # Every other rule is set too: none of them may run for a mailbox that bounces its mail.
    settings = _away(bounce_mail=True, bounce_msg=BOUNCE_MSG, forwards=["a@example.net"], keep_copy=True)
    script = _script(settings)
    planned = sieve.run(script, _message("X-Spam-Flag: YES"))
    assert planned.actions == [f"reject message with reason: {BOUNCE_MSG}"]
    assert planned.keep == []  # nothing stored
    notice = sieve.run(script, _message(), execute=True)
    assert not notice.replied and "reject action: rejected message from <alice@example.org>" in notice.stderr
    text = notice.reply().get_body(("plain",))
    assert text is not None and BOUNCE_MSG in text.get_content()


def test_bounce_mail_without_a_message_rejects_with_the_default_text(sieve: SieveTools) -> None:
    outcome = sieve.run(_script(_settings(bounce_mail=True)), _message())
    assert outcome.actions == ["reject message with reason: This mailbox does not accept messages"]


def test_vacation_answers_mail_addressed_to_an_alias_of_the_mailbox(sieve: SieveTools) -> None:
    aliased = _message(to="sales@example.com")
    # Without the alias, Pigeonhole sees mail not addressed to the mailbox, and stays silent.
    assert not sieve.run(_script(_away()), aliased, execute=True).replied
    script = render_sieve(_away(), MAILBOX, aliases=["sales@example.com", "info@example.com"])
    assert script is not None
    assert ':addresses ["mario@example.com", "info@example.com", "sales@example.com"]' in script
    outcome = sieve.run(script, aliased, execute=True)
    assert outcome.replied and outcome.reply()["From"] == MAILBOX


def test_alias_addresses_are_escaped_and_do_not_depend_on_their_order() -> None:
    first = render_sieve(_away(), MAILBOX, aliases=["b@example.com", 'a"x@example.com', MAILBOX.upper()])
    second = render_sieve(_away(), MAILBOX, aliases=[MAILBOX, "b@example.com", 'a"x@example.com'])
    assert first == second and first is not None
    assert ':addresses ["mario@example.com", "a\\"x@example.com", "b@example.com"]' in first
