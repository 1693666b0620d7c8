"""The TCP ports of the hosted mail servers: Dovecot's (IMAP, POP3, LMTP, ManageSieve) and Postfix's
(SMTP for incoming mail, submission for authenticated senders, and `internal`, a loopback-only listener
where Dovecot hands over the mail its Sieve scripts send, so vacation replies are DKIM-signed).
Port 0 turns a listener off."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class MailPorts:
    imap: int = 143
    imaps: int = 993
    pop3: int = 110
    pop3s: int = 995
    lmtp: int = 24
    sieve: int = 4190
    smtp: int = 25
    submission: int = 587
    internal: int = 10026


PORT_NAMES = tuple(f.name for f in fields(MailPorts))
