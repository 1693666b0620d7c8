"""Re-deriving the columns Postfix and Dovecot read (bounce_reply, the Sieve script and its id, the webhook-copy
token) when the mail services start, for rows an older renderer, or another secret, wrote."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from mailyard.hosting.mailbox_views import bounce_reply, sieve_columns
from mailyard.hosting.records import HostedDomainRecord, HostedMailboxRecord
from mailyard.hosting.settings import settings_from_json
from mailyard.mailserver import derived
from mailyard.mailserver.derived import Rederived, rederive
from mailyard.mailserver.hook_addresses import hook_token
from tests.dialects.msjhub.helpers import USER, activate_without_dns
from tests.servers.ports import free_ports
from tests.support.app import Api, ApiFactory
from tests.support.hosting import create_alias, create_mailbox, set_route

DOMAIN = "derived.test"
STALE = {"bounce_reply": None, "sieve_id": "from-an-older-version", "sieve_script": "keep;\n"}


async def _row(api: Api, address: str) -> Any:
    m = HostedMailboxRecord
    return await api.runtime.db.read_one(
        select(m.settings, m.bounce_reply, m.sieve_id, m.sieve_script).where(m.address == address))


async def _staled(api: Api, *addresses: str) -> None:
    async with api.runtime.db.transaction() as session:
        await session.execute(update(HostedMailboxRecord).where(HostedMailboxRecord.address.in_(addresses))
                              .values(**STALE))
        await session.execute(update(HostedDomainRecord).where(HostedDomainRecord.name == DOMAIN)
                              .values(hook_token=None))


async def _setup(api: Api) -> tuple[str, str]:
    await activate_without_dns(api, DOMAIN)
    closed, _ = await create_mailbox(api, "closed", DOMAIN, bounce_mail=True, bounce_msg="Gone")
    away, _ = await create_mailbox(api, "away", DOMAIN, autoresponder_enabled=True, autoresponder_body="Away.")
    await create_alias(api, "sales", [away["address"]], DOMAIN, USER)
    await set_route(api, "https://hooks.example.test/in", domain=DOMAIN, user_id=USER)
    return closed["address"], away["address"]


async def test_stale_columns_are_rendered_again_and_fresh_ones_left_alone(api: Api) -> None:
    closed, away = await _setup(api)
    fresh = {address: await _row(api, address) for address in (closed, away)}
    assert await rederive(api.runtime.db, api.runtime.box) == Rederived(0, 0, 0)  # nothing to do
    await _staled(api, closed, away)
    result = await rederive(api.runtime.db, api.runtime.box)
    assert (result.mailboxes, result.domains, result.skipped) == (2, 1, 0)
    for address in (closed, away):
        row = await _row(api, address)
        assert (row.bounce_reply, row.sieve_id, row.sieve_script) == \
            (fresh[address].bounce_reply, fresh[address].sieve_id, fresh[address].sieve_script)
        settings = settings_from_json(row.settings)
        assert row.bounce_reply == bounce_reply(settings)
    assert '"sales@derived.test"' in (await _row(api, away)).sieve_script  # the alias is in, as on create
    domain = await api.runtime.db.read_one(select(HostedDomainRecord.id, HostedDomainRecord.hook_token)
                                           .where(HostedDomainRecord.name == DOMAIN))
    assert domain.hook_token == hook_token(api.runtime.box, domain.id)
    assert await rederive(api.runtime.db, api.runtime.box) == Rederived(0, 0, 0)


async def test_every_batch_of_a_large_store_is_covered(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    await activate_without_dns(api, DOMAIN)
    addresses = [(await create_mailbox(api, f"m{i}", DOMAIN, spam_in_inbox=i % 2 == 0))[0]["address"]
                 for i in range(5)]
    await _staled(api, *addresses)
    monkeypatch.setattr(derived, "BATCH", 2)  # three batches, the last one short
    assert (await rederive(api.runtime.db, api.runtime.box)).mailboxes == 5
    for address in addresses:
        row = await _row(api, address)
        assert (row.sieve_id, row.sieve_script) == sieve_columns(settings_from_json(row.settings), address)


async def test_starting_the_mail_services_re_derives(api_factory: ApiFactory) -> None:
    first = await api_factory()
    closed, away = await _setup(first)
    await _staled(first, closed, away)
    milter, policy, hook = free_ports(3)
    # Another process on the same store, serving mail (MAILYARD_MAIL_SERVICES=true): its start fixes them.
    second = await api_factory(mail_services=True, milter_port=milter, policy_port=policy, hook_port=hook)
    assert second.runtime.mail_services is not None
    row = await _row(second, closed)
    assert row.bounce_reply == "REJECT Gone" and row.sieve_script.count('reject "Gone";') == 1
