"""Re-deriving, when the mail services start, the columns Postfix and Dovecot read that Mailyard computes.

`bounce_reply`, `sieve_id` and `sieve_script` of each mailbox are rendered from its settings (and its aliases)
when it is written, and `hook_token` of each webhook_then_store domain when its route is set. A new version of
the renderer, or a new secret, would leave rows written before it stale until their next update; this pass, run
by every process that starts the mail services (`mailyard serve --mailserver`, or MAILYARD_MAIL_SERVICES=true
beside an operator's own Postfix and Dovecot), brings them in line in one pass over the store, in batches.

A row changed by the API while the pass runs is left alone: each update applies only while the row still holds
what the pass read (its sieve_id and updated_at), and whoever changed it rendered it with the current code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from mailyard.hosting.mailbox_views import aliases_reaching, bounce_reply, sieve_columns
from mailyard.hosting.records import HostedAliasRecord, HostedDomainRecord, HostedMailboxRecord
from mailyard.hosting.settings import settings_from_json
from mailyard.mailserver.hook_addresses import hook_token
from mailyard.security.secretbox import SecretBox
from mailyard.store.db import Database

log = logging.getLogger(__name__)
BATCH = 500

_MAILBOXES = HostedMailboxRecord.__table__
_UPDATE_MAILBOX = (
    update(_MAILBOXES)
    .where(_MAILBOXES.c.id == bindparam("row_id"), _MAILBOXES.c.sieve_id == bindparam("seen_sieve_id"),
           _MAILBOXES.c.updated_at == bindparam("seen_updated_at"))
    .values(bounce_reply=bindparam("new_bounce_reply"), sieve_id=bindparam("new_sieve_id"),
            sieve_script=bindparam("new_sieve_script"))
)


@dataclass(frozen=True)
class Rederived:
    mailboxes: int  # rows found stale (and updated unless changed meanwhile)
    domains: int
    skipped: int  # mailboxes whose stored settings no longer validate


async def _aliases_by_destination(db: Database) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in await db.read(select(HostedAliasRecord.address, HostedAliasRecord.destinations)):
        for destination in row.destinations or []:
            found.setdefault(destination.lower(), set()).add(row.address.lower())
    return found


def _stale(row: Any, aliases: dict[str, set[str]]) -> dict[str, Any] | None:
    """The update for one mailbox row, or None when its columns are what the current code renders."""
    settings = settings_from_json(row.settings or {})
    reply = bounce_reply(settings)
    sieve_id, script = sieve_columns(settings, row.address, aliases_reaching(row.address, aliases))
    if (reply, sieve_id, script) == (row.bounce_reply, row.sieve_id, row.sieve_script):
        return None
    return {"row_id": row.id, "seen_sieve_id": row.sieve_id, "seen_updated_at": row.updated_at,
            "new_bounce_reply": reply, "new_sieve_id": sieve_id, "new_sieve_script": script}


async def _mailboxes(db: Database) -> tuple[int, int]:
    aliases = await _aliases_by_destination(db)
    m = HostedMailboxRecord
    stale = skipped = 0
    last = 0
    while True:
        rows = await db.read(
            select(m.id, m.address, m.settings, m.bounce_reply, m.sieve_id, m.sieve_script, m.updated_at)
            .where(m.id > last).order_by(m.id).limit(BATCH))
        if not rows:
            break
        last = rows[-1].id
        changes = []
        for row in rows:
            try:
                change = _stale(row, aliases)
            except ValueError:
                # Settings that no longer validate: the script stays as it was (the API reports the bad field
                # on the next update) rather than one rendered from guessed settings.
                skipped += 1
                continue
            if change is not None:
                changes.append(change)
        if changes:
            async with db.transaction() as session:
                await session.execute(_UPDATE_MAILBOX, changes)
            stale += len(changes)
    return stale, skipped


async def _domains(db: Database, box: SecretBox) -> int:
    d = HostedDomainRecord
    rows = await db.read(select(d.id, d.hook_token).where(d.forward_mode == "webhook_then_store"))
    changes = [{"row_id": row.id, "token": hook_token(box, row.id)} for row in rows
               if row.hook_token != hook_token(box, row.id)]
    if changes:
        table = d.__table__
        async with db.transaction() as session:
            await session.execute(update(table).where(table.c.id == bindparam("row_id"))
                                  .values(hook_token=bindparam("token")), changes)
    return len(changes)


async def rederive(db: Database, box: SecretBox) -> Rederived:
    """Bring every derived column in line with the current code; returns what was found stale."""
    mailboxes, skipped = await _mailboxes(db)
    result = Rederived(mailboxes, await _domains(db, box), skipped)
    if result.mailboxes or result.domains:
        log.info("re-derived the mail-server columns of %d mailboxes and %d domains", result.mailboxes,
                 result.domains)
    if result.skipped:
        log.warning("%d mailboxes have stored settings that no longer validate; their columns were kept",
                    result.skipped)
    return result
