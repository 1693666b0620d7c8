"""One account's connection loop against a fake connector and a fake state sink: the states it reports, how
it retries and backs off, the SMTP check it records, and accounts it must not even try to connect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from mailyard.accounts.config import AccountConfig
from mailyard.engine.backoff import Backoff
from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.imap import Credentials, ImapEndpoint
from mailyard.engine.smtp import SmtpEndpoint
from mailyard.engine.worker import AccountWorker, WorkerDeps
from tests.engine.fakes import FakeSession, FakeStates, session_factory

HOLD = "hold"  # the session stays up until the worker aborts it
DROP = "drop"  # the server closes the session right after login

AUTH_FAILED = Failure(FailureCode.AUTHENTICATION_FAILED, "Invalid credentials (Failure)")
REFUSED = Failure(FailureCode.CONNECTION_REFUSED, "Connection refused")


class FakeConnector:
    """Successive `open_imap` calls follow `steps` (a Failure is raised, HOLD or DROP opens a session); the
    last step repeats."""

    def __init__(self, *steps: Failure | str, smtp_failure: Failure | None = None) -> None:
        self.steps: list[Failure | str] = list(steps) or [HOLD]
        self.smtp_failure = smtp_failure
        self.imap_calls: list[tuple[ImapEndpoint, Credentials]] = []
        self.smtp_calls: list[tuple[SmtpEndpoint, Credentials | None]] = []
        self.sessions: list[FakeSession] = []

    async def open_imap(self, endpoint: ImapEndpoint, credentials: Credentials) -> FakeSession:
        step = self.steps[min(len(self.imap_calls), len(self.steps) - 1)]
        self.imap_calls.append((endpoint, credentials))
        if isinstance(step, Failure):
            raise step
        session = FakeSession(drop=step == DROP)
        self.sessions.append(session)
        return session

    async def check_smtp(self, endpoint: SmtpEndpoint, credentials: Credentials | None) -> None:
        self.smtp_calls.append((endpoint, credentials))
        if self.smtp_failure is not None:
            raise self.smtp_failure


@dataclass(frozen=True)
class RecordingBackoff(Backoff):
    """The real policy, remembering which attempt number every delay was asked for."""

    attempts: list[int] = field(default_factory=list, compare=False)

    def delay(self, attempt: int, rand: Any = None) -> float:
        self.attempts.append(attempt)
        return super().delay(attempt, rand)


def password_config(*, smtp: bool = True, imap_disabled: bool = False) -> AccountConfig:
    imap: dict[str, Any] = {"host": "imap.example.com", "port": 993, "secure": True,
                            "auth": {"user": "alice", "pass": "imap-pw"}}
    if imap_disabled:
        imap["disabled"] = True
    return AccountConfig(
        id="acc-1", generation=3, disabled=False, email="alice@example.com", imap=imap,
        smtp={"host": "smtp.example.com", "port": 465, "secure": True, "auth": {"user": "alice", "pass": "smtp-pw"}}
        if smtp else None,
        oauth2=None,
    )


def deps(connector: FakeConnector, states: FakeStates, backoff: Backoff | None = None,
         keepalive: float = 300.0) -> WorkerDeps:
    return WorkerDeps(connector=connector, states=states,  # type: ignore[arg-type]
                      backoff=backoff or Backoff(base=0.01, cap=0.05, stable_after=60.0),
                      make_session=session_factory(keepalive))


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


@asynccontextmanager
async def running(worker: AccountWorker) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# -- a good account ----------------------------------------------------------------------------------


async def test_states_go_connecting_syncing_connected() -> None:
    connector, states = FakeConnector(HOLD), FakeStates()
    worker = AccountWorker(password_config(), deps(connector, states))
    async with running(worker):
        await until(lambda: "connected" in states.states())
        assert states.states() == ["connecting", "syncing", "connected"]
        assert worker.state == "connected"
        assert states.with_state("syncing")[0]["last_error"] is None
        assert states.with_state("connected")[0]["sync_time"] is not None
        assert {(account, generation) for account, generation, _ in states.reports} == {("acc-1", 3)}
        assert connector.imap_calls == [(ImapEndpoint("imap.example.com", 993, secure=True),
                                         Credentials("alice", password="imap-pw"))]


async def test_idle_session_is_kept_alive_with_noop() -> None:
    connector, states = FakeConnector(HOLD), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states, keepalive=0.005))):
        await until(lambda: bool(connector.sessions) and connector.sessions[0].noops >= 2)
        assert len(connector.imap_calls) == 1
        assert states.states()[-1] == "connected"


async def test_cancelling_the_worker_aborts_its_session() -> None:
    connector, states = FakeConnector(HOLD), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: "connected" in states.states())
    assert connector.sessions[0].aborted


# -- failures and retries ----------------------------------------------------------------------------


async def test_authentication_failure_reports_server_response_and_retries() -> None:
    connector, states = FakeConnector(AUTH_FAILED), FakeStates()
    backoff = RecordingBackoff(base=0.01, cap=0.05, stable_after=60.0)
    worker = AccountWorker(password_config(), deps(connector, states, backoff))
    async with running(worker):
        await until(lambda: len(connector.imap_calls) >= 3)
        errors = states.with_state("authenticationError")
        assert len(errors) >= 2
        assert errors[0]["last_error"] == {"response": "Invalid credentials (Failure)",
                                           "serverResponseCode": "AUTHENTICATIONFAILED"}
        assert states.states()[:4] == ["connecting", "authenticationError", "connecting", "authenticationError"]
        assert "syncing" not in states.states()
        assert backoff.attempts[:2] == [1, 2]


async def test_refused_connect_reports_connect_error_then_recovers() -> None:
    connector, states = FakeConnector(REFUSED, REFUSED, HOLD), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: "connected" in states.states())
        assert states.states() == ["connecting", "connectError", "connecting", "connectError",
                                   "connecting", "syncing", "connected"]
        assert states.with_state("connectError")[0]["last_error"] == {
            "response": "Connection refused", "serverResponseCode": "ECONNREFUSED"}
        assert states.with_state("syncing")[0]["last_error"] is None  # recovery clears the error
        assert len(connector.imap_calls) == 3


async def test_session_that_closes_right_after_connecting_keeps_growing_the_delay() -> None:
    connector, states = FakeConnector(DROP), FakeStates()
    backoff = RecordingBackoff(base=0.01, cap=0.05, stable_after=60.0)
    async with running(AccountWorker(password_config(), deps(connector, states, backoff))):
        await until(lambda: len(backoff.attempts) >= 4)
        assert backoff.attempts[:4] == [1, 2, 3, 4]
        assert states.states()[:3] == ["connecting", "syncing", "connected"]
        assert all(session.aborted for session in connector.sessions)


async def test_session_lasting_stable_after_resets_the_delay() -> None:
    connector, states = FakeConnector(DROP), FakeStates()
    backoff = RecordingBackoff(base=0.01, cap=0.05, stable_after=0.0)
    async with running(AccountWorker(password_config(), deps(connector, states, backoff))):
        await until(lambda: len(backoff.attempts) >= 3)
        assert backoff.attempts[:3] == [0, 0, 0]


async def test_dropped_session_is_not_reported_connected_while_waiting_to_reconnect() -> None:
    connector, states = FakeConnector(DROP, HOLD), FakeStates()
    slow = Backoff(base=10.0, cap=10.0, stable_after=60.0)  # the retry waits for seconds: observe that wait
    async with running(AccountWorker(password_config(), deps(connector, states, slow))):
        await until(lambda: bool(connector.sessions) and connector.sessions[0].aborted)
        await asyncio.sleep(0.01)
        assert len(connector.imap_calls) == 1  # still waiting before the next attempt
        assert states.states()[-1] != "connected", (
            f"the session is gone but the account still reads connected: {states.states()}")


# -- SMTP check --------------------------------------------------------------------------------------


async def test_successful_smtp_check_is_recorded_as_ok() -> None:
    connector, states = FakeConnector(HOLD), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: bool(states.smtp_statuses()))
        [status] = states.smtp_statuses()
        assert status["status"] == "ok"
        assert status["response"] == "Authentication succeeded"
        assert isinstance(status["created"], str)
        assert connector.smtp_calls == [(SmtpEndpoint("smtp.example.com", 465, secure=True),
                                         Credentials("alice", password="smtp-pw"))]


async def test_failed_smtp_check_is_recorded_as_error_and_keeps_imap_connected() -> None:
    failure = Failure(FailureCode.AUTHENTICATION_FAILED, "535 5.7.8 Authentication credentials invalid")
    connector, states = FakeConnector(HOLD, smtp_failure=failure), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: bool(states.smtp_statuses()))
        await asyncio.sleep(0.01)
        [status] = states.smtp_statuses()
        assert (status["status"], status["response"], status["code"]) == (
            "error", "535 5.7.8 Authentication credentials invalid", "AUTHENTICATIONFAILED")
        assert states.states()[-1] == "connected"
        assert len(connector.imap_calls) == 1


async def test_account_without_smtp_records_no_smtp_status() -> None:
    connector, states = FakeConnector(HOLD), FakeStates()
    async with running(AccountWorker(password_config(smtp=False), deps(connector, states))):
        await until(lambda: "connected" in states.states())
        await asyncio.sleep(0.01)
        assert connector.smtp_calls == []
        assert states.smtp_statuses() == []


async def test_send_only_account_is_connected_after_a_good_smtp_check() -> None:
    connector, states = FakeConnector(HOLD), FakeStates()
    async with running(AccountWorker(password_config(imap_disabled=True), deps(connector, states))):
        await until(lambda: "connected" in states.states())
        assert states.states() == ["connecting", "connected"]
        assert states.with_state("connected")[0]["last_error"] is None
        assert [s["status"] for s in states.smtp_statuses()] == ["ok"]
        assert connector.imap_calls == []


async def test_send_only_account_with_unreachable_smtp_reports_connect_error_and_retries() -> None:
    connector, states = FakeConnector(HOLD, smtp_failure=REFUSED), FakeStates()
    async with running(AccountWorker(password_config(imap_disabled=True), deps(connector, states))):
        await until(lambda: len(connector.smtp_calls) >= 2)
        assert states.states()[:2] == ["connecting", "connectError"]
        assert states.with_state("connectError")[0]["last_error"] == {
            "response": "Connection refused", "serverResponseCode": "ECONNREFUSED"}
        assert "connected" not in states.states()


# -- blocked accounts --------------------------------------------------------------------------------


async def test_blocked_plan_reports_unset_once_and_stops() -> None:
    config = AccountConfig(id="acc-1", generation=3, disabled=False, email="alice@gmail.com",
                           imap=None, smtp=None, oauth2={"provider": "gmail", "refreshToken": "r"})
    connector, states = FakeConnector(HOLD), FakeStates()
    worker = AccountWorker(config, deps(connector, states))
    await asyncio.wait_for(worker.run(), timeout=1.0)
    assert len(states.reports) == 1
    account, generation, changes = states.reports[0]
    assert (account, generation, changes["state"]) == ("acc-1", 3, "unset")
    assert changes["last_error"]["serverResponseCode"] == "NoCredentials"
    assert worker.state == "unset"
    assert connector.imap_calls == [] and connector.smtp_calls == []


def _event_names(states: FakeStates) -> list[str]:
    return [event.event.value for _, event in states.events]


async def test_repeated_failure_sends_one_error_event_not_one_per_retry() -> None:
    connector, states = FakeConnector(AUTH_FAILED), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: len(connector.imap_calls) >= 4)
    assert _event_names(states) == ["authenticationError"]
    assert states.events[0][1].data == {"response": AUTH_FAILED.response, "serverResponseCode": "AUTHENTICATIONFAILED"}


async def test_a_different_error_is_announced_again() -> None:
    connector, states = FakeConnector(AUTH_FAILED, AUTH_FAILED, REFUSED, REFUSED), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: len(connector.imap_calls) >= 4)
    assert _event_names(states) == ["authenticationError", "connectError"]


async def test_first_connection_initializes_the_account_once() -> None:
    connector, states = FakeConnector(DROP, HOLD), FakeStates()
    async with running(AccountWorker(password_config(), deps(connector, states))):
        await until(lambda: states.states().count("connected") >= 2)
    assert _event_names(states).count("accountInitialized") == 1
    assert _event_names(states).count("authenticationSuccess") == 1
    assert sum(1 for _, _, c in states.reports if "initialized_at" in c) == 1


async def test_recovery_after_an_auth_error_is_announced() -> None:
    config = password_config()
    config.initialized_at = config.notified_error = None
    connector, states = FakeConnector(AUTH_FAILED, HOLD), FakeStates()
    async with running(AccountWorker(config, deps(connector, states))):
        await until(lambda: "connected" in states.states())
    assert _event_names(states) == ["authenticationError", "authenticationSuccess", "accountInitialized"]
    connected = states.with_state("connected")[0]
    assert connected["notified_error"] is None and connected["last_error"] is None


async def test_an_already_announced_error_survives_a_restart() -> None:
    config = password_config()
    config.notified_error = f"AUTHENTICATIONFAILED:{AUTH_FAILED.response}"
    connector, states = FakeConnector(AUTH_FAILED), FakeStates()
    async with running(AccountWorker(config, deps(connector, states))):
        await until(lambda: len(connector.imap_calls) >= 2)
    assert _event_names(states) == []
