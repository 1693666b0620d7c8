"""The sending rules Postfix's policy service enforces on submissions: the daily outbound_limit and
restrict_from_field, decided on the store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select, update

from mailyard.hosting.records import HostedAliasRecord, HostedDomainRecord, HostedMailboxRecord, OutboundCountRecord
from mailyard.hosting.sending_policy import SendingPolicy, describe_limits, prune_counts
from tests.servers.dnsmasq import DnsServer
from tests.support.app import Api
from tests.support.hosting import active_domain, create_mailbox, update_mailbox

DOMAIN = "customer.test"
NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A settable UTC clock."""

    def __init__(self, now: datetime = NOON) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def end_of_message(login: str | None, sender: str | None = None, **extra: str) -> dict[str, str]:
    """The attributes Postfix sends from smtpd_end_of_data_restrictions (the ones the policy reads)."""
    attributes = {"request": "smtpd_access_policy", "protocol_state": "END-OF-MESSAGE", "protocol_name": "ESMTP",
                  "sender": login if sender is None else sender, "recipient": "", "recipient_count": "1",
                  "client_address": "127.0.0.1", **extra}
    if login is not None:
        attributes["sasl_username"] = login
        attributes["sasl_method"] = "PLAIN"
    return attributes


async def send(policy: SendingPolicy, login: str | None, count: int = 1, **kwargs: str) -> list[str]:
    return [await policy.decide(end_of_message(login, **kwargs)) for _ in range(count)]


async def counted(api: Api, address: str, day: str = "2024-05-01") -> int | None:
    return await api.runtime.db.read_scalar(select(OutboundCountRecord.count).where(
        OutboundCountRecord.address == address, OutboundCountRecord.day == day))


def limit_reply(limit: int, address: str) -> str:
    messages = "message" if limit == 1 else "messages"
    return f"DEFER 4.7.1 Daily sending limit of {limit} {messages} reached for {address}; try again tomorrow"


@pytest.fixture
async def api_with_domain(api: Api, dns_records: DnsServer) -> Api:
    await active_domain(api, dns_records, DOMAIN)
    return api


async def mailbox(api: Api, local_part: str, **settings: Any) -> str:
    account, _ = await create_mailbox(api, local_part, DOMAIN, **settings)
    return str(account["address"])


def policy_for(api: Api, default_limit: int = 1000, clock: Clock | None = None) -> SendingPolicy:
    return SendingPolicy(api.runtime.db, default_limit=default_limit, clock=clock or Clock())


async def add_alias(api: Api, address: str, destinations: list[str]) -> None:
    db = api.runtime.db
    domain_id = await db.read_scalar(select(HostedDomainRecord.id).where(HostedDomainRecord.name == DOMAIN))
    async with db.transaction() as session:
        await session.execute(insert(HostedAliasRecord).values(
            domain_id=domain_id, user_id="user_123", name=address.partition("@")[0], address=address,
            destinations=destinations, destinations_text=",".join(destinations)))


# -- outbound_limit --------------------------------------------------------------------------------


async def test_fourth_message_of_the_day_is_deferred_with_a_limit_of_3(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=3)
    policy = policy_for(api_with_domain)
    assert await send(policy, address, 3) == ["DUNNO"] * 3
    assert await send(policy, address, 2) == [limit_reply(3, address)] * 2
    # The deferred messages were not counted.
    assert await counted(api_with_domain, address) == 3


async def test_limit_reached_by_one_mailbox_leaves_another_unaffected(api_with_domain: Api) -> None:
    alice = await mailbox(api_with_domain, "alice", outbound_limit=3)
    bob = await mailbox(api_with_domain, "bob", outbound_limit=3)
    policy = policy_for(api_with_domain)
    await send(policy, alice, 3)
    assert await send(policy, alice) == [limit_reply(3, alice)]
    assert await send(policy, bob, 3) == ["DUNNO"] * 3
    assert await counted(api_with_domain, bob) == 3


async def test_a_new_utc_day_starts_from_zero(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=3)
    clock = Clock(datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC))
    policy = policy_for(api_with_domain, clock=clock)
    await send(policy, address, 3)
    assert await send(policy, address) == [limit_reply(3, address)]
    clock.now = datetime(2024, 5, 2, 0, 0, 0, tzinfo=UTC)
    assert await send(policy, address, 3) == ["DUNNO"] * 3
    assert await send(policy, address) == [limit_reply(3, address)]
    assert await counted(api_with_domain, address, "2024-05-01") == 3
    assert await counted(api_with_domain, address, "2024-05-02") == 3


async def test_yesterdays_full_count_does_not_block_today(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=3)
    async with api_with_domain.runtime.db.transaction() as session:
        await session.execute(insert(OutboundCountRecord).values(address=address, day="2024-04-30", count=3))
    assert await send(policy_for(api_with_domain), address) == ["DUNNO"]
    assert await counted(api_with_domain, address) == 1


async def test_the_day_is_the_utc_day_whatever_the_clocks_zone(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=3)
    # 01:00 in UTC+2 is still 23:00 on the previous day in UTC.
    clock = Clock(datetime(2024, 5, 2, 1, 0, tzinfo=timezone(timedelta(hours=2))))
    await send(policy_for(api_with_domain, clock=clock), address)
    assert await counted(api_with_domain, address, "2024-05-01") == 1


async def test_outbound_limit_0_means_the_configured_default(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice")  # outbound_limit defaults to 0
    policy = policy_for(api_with_domain, default_limit=2)
    assert await send(policy, address, 3) == ["DUNNO", "DUNNO", limit_reply(2, address)]


async def test_lowering_the_limit_below_todays_count_defers_at_once(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=5)
    policy = policy_for(api_with_domain)
    await send(policy, address, 4)
    async with api_with_domain.runtime.db.transaction() as session:
        await session.execute(update(HostedMailboxRecord).where(HostedMailboxRecord.address == address)
                              .values(settings={"outbound_limit": 2}))
    assert await send(policy, address) == [limit_reply(2, address)]


async def test_only_end_of_message_requests_count_so_recipients_do_not(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=3)
    policy = policy_for(api_with_domain)
    for state in ["CONNECT", "EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA"]:
        assert await send(policy, address, protocol_state=state) == ["DUNNO"]
    assert await counted(api_with_domain, address) is None
    assert await send(policy, address, recipient_count="50") == ["DUNNO"]
    assert await counted(api_with_domain, address) == 1


async def test_twenty_concurrent_messages_with_a_limit_of_5_let_exactly_5_through(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=5)
    policy = policy_for(api_with_domain)
    answers = await asyncio.gather(*(policy.decide(end_of_message(address)) for _ in range(20)))
    assert answers.count("DUNNO") == 5
    assert answers.count(limit_reply(5, address)) == 15
    assert await counted(api_with_domain, address) == 5


# -- restrict_from_field ---------------------------------------------------------------------------


async def test_restricted_mailbox_may_send_as_itself(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", restrict_from_field=True)
    assert await send(policy_for(api_with_domain), address, sender=address.upper()) == ["DUNNO"]


async def test_restricted_mailbox_may_send_as_an_alias_delivering_to_it(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", restrict_from_field=True)
    await add_alias(api_with_domain, f"sales@{DOMAIN}", ["someone@elsewhere.test", address])
    assert await send(policy_for(api_with_domain), address, sender=f"sales@{DOMAIN}") == ["DUNNO"]


@pytest.mark.parametrize("sender", ["boss@elsewhere.test", f"team@{DOMAIN}", f"bob@{DOMAIN}", ""],
                         ids=["foreign", "alias-of-another-mailbox", "another-mailbox", "null-sender"])
async def test_restricted_mailbox_is_rejected_for_a_sender_it_does_not_own(api_with_domain: Api,
                                                                           sender: str) -> None:
    address = await mailbox(api_with_domain, "alice", restrict_from_field=True, outbound_limit=3)
    await mailbox(api_with_domain, "bob")
    await add_alias(api_with_domain, f"team@{DOMAIN}", [f"bob@{DOMAIN}"])
    answers = await send(policy_for(api_with_domain), address, sender=sender)
    assert answers == [f"REJECT 5.7.1 Sender address is not owned by user {address}"]
    # A refused message is not counted against the limit.
    assert await counted(api_with_domain, address) is None


async def test_unrestricted_mailbox_may_use_any_sender_and_is_still_counted(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", restrict_from_field=False, outbound_limit=1)
    policy = policy_for(api_with_domain)
    assert await send(policy, address, sender="boss@elsewhere.test") == ["DUNNO"]
    [answer] = await send(policy, address, sender="boss@elsewhere.test")
    assert answer == f"DEFER 4.7.1 Daily sending limit of 1 message reached for {address}; try again tomorrow"


# -- what the policy leaves alone ------------------------------------------------------------------


# -- access revoked during a session -------------------------------------------------------------------


async def test_messages_of_a_session_opened_before_access_was_revoked_are_rejected(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "leaver")
    other = await mailbox(api_with_domain, "stayer")
    account_id = await api_with_domain.runtime.db.read_scalar(
        select(HostedMailboxRecord.id).where(HostedMailboxRecord.address == address))
    policy = policy_for(api_with_domain)
    assert await send(policy, address) == ["DUNNO"]
    await update_mailbox(api_with_domain, account_id, smtp_disabled=True)
    assert await send(policy, address) == [
        f"REJECT 5.7.1 Sending is not allowed for {address}: service disabled for this mailbox"]
    await update_mailbox(api_with_domain, account_id, smtp_disabled=False, status="disabled")
    assert await send(policy, address) == [f"REJECT 5.7.1 Sending is not allowed for {address}: mailbox disabled"]
    reply = await api_with_domain.put(f"/v2/domains/{DOMAIN}/status",
                                      json={"user_id": "user_123", "status": "suspended"})
    assert reply.status_code == 200, reply.text
    assert (await send(policy, other))[0].endswith("domain not active")
    assert await counted(api_with_domain, address) == 1  # refused messages are not counted


async def test_request_without_sasl_username_is_not_a_submission(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=1)
    policy = policy_for(api_with_domain)
    assert await send(policy, None, 3, sender=address) == ["DUNNO"] * 3
    assert await send(policy, "", sender="boss@elsewhere.test") == ["DUNNO"]
    assert await counted(api_with_domain, address) is None


async def test_login_outside_mailyard_is_left_to_postfix(api_with_domain: Api) -> None:
    policy = policy_for(api_with_domain, default_limit=1)
    assert await send(policy, "operator@elsewhere.test", 3, sender="anyone@elsewhere.test") == ["DUNNO"] * 3


async def test_login_is_matched_case_insensitively(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice", outbound_limit=1)
    policy = policy_for(api_with_domain)
    assert await send(policy, address.upper(), sender=address) == ["DUNNO"]
    assert await send(policy, address) == [limit_reply(1, address)]


async def test_settings_that_no_longer_validate_raise_so_the_server_defers(api_with_domain: Api) -> None:
    address = await mailbox(api_with_domain, "alice")
    async with api_with_domain.runtime.db.transaction() as session:
        await session.execute(update(HostedMailboxRecord).where(HostedMailboxRecord.address == address)
                              .values(settings={"outbound_limit": "many"}))
    with pytest.raises(ValidationError):
        await send(policy_for(api_with_domain), address)


def test_default_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="default_limit"):
        SendingPolicy(None, default_limit=0)  # type: ignore[arg-type]


def test_describe_limits_explains_0_and_the_default() -> None:
    text = describe_limits(250)
    assert "per UTC day" in text
    assert "0 means the server default" in text
    assert "250" in text


async def test_old_daily_counts_are_pruned_and_today_and_yesterday_kept(api: Api) -> None:
    async with api.runtime.db.transaction() as session:
        for day in ("2026-11-20", "2026-11-21", "2026-11-22"):
            session.add(OutboundCountRecord(address="old@customer.test", day=day, count=3))
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert await prune_counts(api.runtime.db, now=now) == 1
    days = await api.runtime.db.read(select(OutboundCountRecord.day).order_by(OutboundCountRecord.day))
    assert [row.day for row in days] == ["2026-11-21", "2026-11-22"]
