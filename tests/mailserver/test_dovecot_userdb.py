"""Dovecot's userdb over the store gives each mailbox its home, mail location and quota rule (issue 5)."""

from __future__ import annotations

import asyncio
import subprocess

from tests.support.hosting import HostedMail, active_domain, create_mailbox

DOVEADM = "/usr/bin/doveadm"


def _userdb(hosted: HostedMail, address: str) -> dict[str, str]:
    mailserver = hosted.api.runtime.mailserver
    assert mailserver is not None
    result = subprocess.run([DOVEADM, "-c", str(mailserver.dovecot_config), "user", "-u", address],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    # "userdb: <user>", then one "  field : value" line per field the userdb returned.
    pairs = (line.split(":", 1) for line in result.stdout.splitlines()[1:] if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


async def test_the_userdb_returns_home_mail_location_and_quota_rule(hosted: HostedMail) -> None:
    await active_domain(hosted.api, hosted.dns)
    limited, _ = await create_mailbox(hosted.api, "limited", max_email_quota=52428800)
    unlimited, _ = await create_mailbox(hosted.api, "unlimited", max_email_quota=None)
    fields = await asyncio.to_thread(_userdb, hosted, limited["address"])
    assert fields["home"] == str(hosted.mail_root.resolve() / "customer.test" / "limited")
    assert fields["mail"] == "maildir:~/Maildir"
    assert fields["quota_rule"] == "*:bytes=52428800"
    fields = await asyncio.to_thread(_userdb, hosted, unlimited["address"])
    assert fields["home"].endswith("/customer.test/unlimited") and "quota_rule" not in fields
