"""Public IMAP and SMTP settings of well-known mail providers, by email domain and by MX host suffix.

Each entry is (host, port, implicit TLS) for IMAP and for SMTP, as the providers document them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    imap: tuple[str, int, bool]
    smtp: tuple[str, int, bool]


_GMAIL = Provider(("imap.gmail.com", 993, True), ("smtp.gmail.com", 465, True))
_OUTLOOK = Provider(("outlook.office365.com", 993, True), ("smtp.office365.com", 587, False))
_YAHOO = Provider(("imap.mail.yahoo.com", 993, True), ("smtp.mail.yahoo.com", 465, True))
_ICLOUD = Provider(("imap.mail.me.com", 993, True), ("smtp.mail.me.com", 587, False))
_AOL = Provider(("imap.aol.com", 993, True), ("smtp.aol.com", 465, True))
_GMX_COM = Provider(("imap.gmx.com", 993, True), ("mail.gmx.com", 587, False))
_GMX_NET = Provider(("imap.gmx.net", 993, True), ("mail.gmx.net", 587, False))
_ZOHO = Provider(("imap.zoho.com", 993, True), ("smtp.zoho.com", 465, True))
_FASTMAIL = Provider(("imap.fastmail.com", 993, True), ("smtp.fastmail.com", 465, True))
_YANDEX = Provider(("imap.yandex.com", 993, True), ("smtp.yandex.com", 465, True))
_MAILRU = Provider(("imap.mail.ru", 993, True), ("smtp.mail.ru", 465, True))

PROVIDERS: dict[str, Provider] = {
    "gmail.com": _GMAIL, "googlemail.com": _GMAIL,
    "outlook.com": _OUTLOOK, "hotmail.com": _OUTLOOK, "live.com": _OUTLOOK, "msn.com": _OUTLOOK,
    "yahoo.com": _YAHOO, "ymail.com": _YAHOO, "rocketmail.com": _YAHOO,
    "icloud.com": _ICLOUD, "me.com": _ICLOUD, "mac.com": _ICLOUD,
    "aol.com": _AOL,
    "gmx.com": _GMX_COM, "gmx.net": _GMX_NET, "gmx.de": _GMX_NET,
    "zoho.com": _ZOHO, "zohomail.com": _ZOHO,
    "fastmail.com": _FASTMAIL, "fastmail.fm": _FASTMAIL,
    "yandex.com": _YANDEX, "yandex.ru": _YANDEX,
    "mail.ru": _MAILRU,
}

# Own domains whose mail a provider hosts, recognised by where their MX points: (MX host suffix, the key
# in PROVIDERS). Microsoft 365 tenants use <tenant>.mail.protection.outlook.com, its consumer domains
# *.olc.protection.outlook.com; iCloud+ custom domains mx0N.mail.icloud.com.
MX_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("google.com", "gmail.com"),
    ("googlemail.com", "gmail.com"),
    ("protection.outlook.com", "outlook.com"),
    ("mail.icloud.com", "icloud.com"),
    ("messagingengine.com", "fastmail.com"),
    ("zoho.com", "zoho.com"),
    ("yandex.net", "yandex.com"),
)
