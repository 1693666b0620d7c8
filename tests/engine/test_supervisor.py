"""The supervisor: one worker per enabled account, replaced on a new generation, kept on the same one,
stopped when the account is disabled or deleted, restarted after a crash; `stop()` ends everything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import pytest

from mailyard.accounts.config import AccountConfig
from mailyard.engine.backoff import Backoff
from mailyard.engine.imap import Credentials, ImapEndpoint
from mailyard.engine.smtp import SmtpEndpoint
from mailyard.engine.supervisor import Supervisor
from mailyard.engine.worker import WorkerDeps
from tests.engine.fakes import FakeSession, FakeStates, session_factory


class FakeConnector:
    """Sessions stay open until aborted; `crashes` unexpected errors are raised first."""

    def __init__(self, crashes: int = 0) -> None:
        self.crashes = crashes
        self.sessions: list[FakeSession] = []

    async def open_imap(self, endpoint: ImapEndpoint, credentials: Credentials) -> FakeSession:
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("bug in the engine")
        session = FakeSession(endpoint.host)
        self.sessions.append(session)
        return session

    async def check_smtp(self, endpoint: SmtpEndpoint, credentials: Credentials | None) -> None:
        return None

    def open_hosts(self) -> list[str]:
        return [s.host for s in self.sessions if not s.aborted]


def config(account_id: str, generation: int = 1, *, disabled: bool = False, host: str | None = None) -> AccountConfig:
    return AccountConfig(
        id=account_id, generation=generation, disabled=disabled, email=f"{account_id}@example.com",
        imap={"host": host or f"imap-{account_id}-g{generation}.example.com", "port": 993, "secure": True,
              "auth": {"user": account_id, "pass": "pw"}},
        smtp=None, oauth2=None,
    )


class Accounts:
    """The store as the supervisor sees it: `load` for one account, `enabled` for start-up."""

    def __init__(self, *configs: AccountConfig) -> None:
        self.configs: dict[str, AccountConfig] = {c.id: c for c in configs}
        self.loads: list[str] = []

    async def load(self, account_id: str) -> AccountConfig | None:
        self.loads.append(account_id)
        return self.configs.get(account_id)

    async def enabled(self) -> AsyncIterator[AccountConfig]:
        for c in self.configs.values():
            if not c.disabled:
                yield c


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


Make = Callable[..., Awaitable[tuple[Supervisor, FakeConnector, FakeStates]]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    supervisors: list[Supervisor] = []

    async def build(accounts: Accounts, connector: FakeConnector | None = None) -> tuple[
            Supervisor, FakeConnector, FakeStates]:
        connector = connector or FakeConnector()
        states = FakeStates()
        deps = WorkerDeps(connector=connector, states=states,  # type: ignore[arg-type]
                          backoff=Backoff(base=0.01, cap=0.05, stable_after=60.0), make_session=session_factory())
        supervisor = Supervisor(deps, accounts.load, accounts.enabled)
        supervisors.append(supervisor)
        await supervisor.start()
        return supervisor, connector, states

    yield build
    for supervisor in supervisors:
        await supervisor.stop()


async def test_start_spawns_one_worker_per_enabled_account(make: Make) -> None:
    accounts = Accounts(config("a"), config("b"))
    supervisor, connector, states = await make(accounts)
    assert states.started == 1
    assert supervisor.running == 2
    await until(lambda: len(connector.sessions) == 2)
    assert sorted(connector.open_hosts()) == ["imap-a-g1.example.com", "imap-b-g1.example.com"]


async def test_newer_generation_replaces_the_worker(make: Make) -> None:
    accounts = Accounts(config("a"))
    supervisor, connector, states = await make(accounts)
    await until(lambda: "connected" in states.states("a", 1))
    accounts.configs["a"] = config("a", 2)
    supervisor.account_changed("a")
    await until(lambda: "connected" in states.states("a", 2))
    assert connector.sessions[0].aborted  # the old worker was cancelled and let go of its session
    assert connector.open_hosts() == ["imap-a-g2.example.com"]
    assert supervisor.running == 1


async def test_same_generation_keeps_the_running_worker(make: Make) -> None:
    accounts = Accounts(config("a"))
    supervisor, connector, states = await make(accounts)
    await until(lambda: "connected" in states.states("a"))
    accounts.configs["a"] = config("a", 1, host="imap-a-g1.example.com")
    supervisor.account_changed("a")
    await until(lambda: accounts.loads == ["a"])
    await asyncio.sleep(0.02)
    assert len(connector.sessions) == 1 and not connector.sessions[0].aborted
    assert states.states("a") == ["connecting", "syncing", "connected"]
    assert supervisor.running == 1


@pytest.mark.parametrize("change", ["disabled", "deleted"])
async def test_disabled_or_deleted_account_stops_its_worker(make: Make, change: str) -> None:
    accounts = Accounts(config("a"), config("b"))
    supervisor, connector, _ = await make(accounts)
    await until(lambda: len(connector.sessions) == 2)
    if change == "disabled":
        accounts.configs["a"] = config("a", 2, disabled=True)
    else:
        del accounts.configs["a"]
    supervisor.account_changed("a")
    await until(lambda: supervisor.running == 1)
    assert connector.open_hosts() == ["imap-b-g1.example.com"]


async def test_change_to_an_account_without_a_worker_starts_one(make: Make) -> None:
    accounts = Accounts()
    supervisor, _, states = await make(accounts)
    assert supervisor.running == 0
    accounts.configs["new"] = config("new")
    supervisor.account_changed("new")
    await until(lambda: "connected" in states.states("new"))
    assert supervisor.running == 1


async def test_change_to_an_unknown_account_is_harmless(make: Make) -> None:
    accounts = Accounts(config("a"))
    supervisor, _, states = await make(accounts)
    supervisor.account_changed("ghost")
    await until(lambda: accounts.loads == ["ghost"])
    await asyncio.sleep(0.01)
    assert supervisor.running == 1
    assert states.states("ghost") == []


async def test_stop_cancels_every_worker_and_stops_the_state_sink(make: Make) -> None:
    accounts = Accounts(config("a"), config("b"), config("c"))
    supervisor, connector, states = await make(accounts)
    await until(lambda: len(connector.sessions) == 3)
    await supervisor.stop()
    assert supervisor.running == 0
    assert all(session.aborted for session in connector.sessions)
    assert states.stopped == 1


async def test_crashed_worker_reports_internal_error_and_is_restarted(make: Make) -> None:
    accounts = Accounts(config("a"))
    supervisor, connector, states = await make(accounts, FakeConnector(crashes=2))
    await until(lambda: "connected" in states.states("a"))
    internal = [c for _, _, c in states.reports if c.get("state") == "connectError"]
    assert len(internal) == 2
    assert internal[0]["last_error"] == {"response": "internal error in the engine", "serverResponseCode": "EINTERNAL"}
    assert states.states("a")[-3:] == ["connecting", "syncing", "connected"]
    assert connector.crashes == 0 and len(connector.sessions) == 1
    assert supervisor.running == 1


async def test_stop_while_a_change_is_replacing_a_worker_returns_promptly(make: Make) -> None:
    accounts = Accounts(config("a"))
    supervisor, connector, states = await make(accounts)
    await until(lambda: "connected" in states.states("a", 1))
    accounts.configs["a"] = config("a", 2)
    supervisor.account_changed("a")
    await asyncio.sleep(0)  # the change loop is now stopping the generation-1 worker and waiting for it
    stopping = asyncio.create_task(supervisor.stop())
    done, _ = await asyncio.wait({stopping}, timeout=0.5)
    hung = stopping not in done
    if hung:
        stopping.cancel()
        with suppress(asyncio.CancelledError):
            await stopping
    assert not hung, "stop() did not return: the change loop swallowed its cancellation"
    await asyncio.sleep(0.02)
    assert supervisor.running == 0
    assert connector.open_hosts() == []
