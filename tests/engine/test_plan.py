"""From stored account settings to a connection plan: endpoints and credentials, or the reason the account
cannot connect until its settings change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailyard.accounts.config import AccountConfig
from mailyard.accounts.states import AccountState
from mailyard.engine.failures import FailureCode
from mailyard.engine.imap import Credentials, ImapEndpoint
from mailyard.engine.plan import ConnectionPlan, build_plan
from mailyard.engine.smtp import SmtpEndpoint

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
LATER = "2030-06-01T13:00:00Z"


def config(*, imap: dict[str, Any] | None = None, smtp: dict[str, Any] | None = None,
           oauth2: dict[str, Any] | None = None, email: str | None = "alice@example.com") -> AccountConfig:
    return AccountConfig(id="acc-1", generation=1, disabled=False, email=email, imap=imap, smtp=smtp, oauth2=oauth2)


def password_imap(**fields: Any) -> dict[str, Any]:
    return {"host": "imap.example.com", "port": 993, "secure": True, "auth": {"user": "alice", "pass": "imap-pw"},
            **fields}


def password_smtp(**fields: Any) -> dict[str, Any]:
    return {"host": "smtp.example.com", "port": 587, "secure": False, "auth": {"user": "alice", "pass": "smtp-pw"},
            **fields}


def assert_blocked(plan: ConnectionPlan, state: AccountState, code: FailureCode) -> str:
    assert plan.blocked is not None
    assert plan.blocked.state == state
    assert plan.blocked.failure.code == code
    assert plan.imap is None and plan.smtp is None
    assert plan.imap_credentials is None and plan.smtp_credentials is None
    return plan.blocked.failure.response


# -- password accounts -------------------------------------------------------------------------------


def test_password_account_gets_imap_and_smtp_endpoints_and_credentials() -> None:
    plan = build_plan(config(imap=password_imap(), smtp=password_smtp()), NOW)
    assert plan.blocked is None
    assert plan.imap == ImapEndpoint("imap.example.com", 993, secure=True, starttls=None, reject_unauthorized=True,
                                     min_tls_version=None, servername=None)
    assert plan.imap_credentials == Credentials("alice", password="imap-pw")
    assert plan.smtp == SmtpEndpoint("smtp.example.com", 587, secure=False, starttls=None, reject_unauthorized=True)
    assert plan.smtp_credentials == Credentials("alice", password="smtp-pw")


def test_tls_options_are_mapped_onto_the_endpoints() -> None:
    tls = {"rejectUnauthorized": False, "minVersion": "TLSv1.2", "servername": "mail.example.com"}
    plan = build_plan(config(imap=password_imap(secure=False, doSTARTTLS=True, tls=tls),
                             smtp=password_smtp(doSTARTTLS=False, tls={"minVersion": "TLSv1.3"})), NOW)
    assert plan.imap == ImapEndpoint("imap.example.com", 993, secure=False, starttls=True, reject_unauthorized=False,
                                     min_tls_version="TLSv1.2", servername="mail.example.com")
    assert plan.smtp == SmtpEndpoint("smtp.example.com", 587, secure=False, starttls=False, reject_unauthorized=True,
                                     min_tls_version="TLSv1.3", servername=None)


def test_access_token_in_imap_auth_is_used_as_a_token() -> None:
    imap = password_imap(auth={"user": "alice", "accessToken": "tok"})
    plan = build_plan(config(imap=imap), NOW)
    assert plan.imap_credentials == Credentials("alice", access_token="tok")


def test_disabled_imap_gives_no_imap_endpoint_but_keeps_smtp() -> None:
    plan = build_plan(config(imap=password_imap(disabled=True), smtp=password_smtp()), NOW)
    assert plan.blocked is None
    assert plan.imap is None and plan.imap_credentials is None
    assert plan.smtp is not None and plan.smtp.host == "smtp.example.com"


def test_smtp_without_auth_is_planned_without_credentials() -> None:
    plan = build_plan(config(imap=password_imap(), smtp={"host": "smtp.example.com", "port": 25}), NOW)
    assert plan.smtp == SmtpEndpoint("smtp.example.com", 25)
    assert plan.smtp_credentials is None


def test_no_smtp_section_gives_no_smtp_endpoint() -> None:
    plan = build_plan(config(imap=password_imap()), NOW)
    assert plan.blocked is None
    assert plan.smtp is None and plan.smtp_credentials is None


# -- blocked -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("imap", [
    {"port": 993, "auth": {"user": "alice", "pass": "pw"}},
    {"host": "imap.example.com", "auth": {"user": "alice", "pass": "pw"}},
    {},
])
def test_missing_imap_host_or_port_blocks_with_not_configured(imap: dict[str, Any]) -> None:
    plan = build_plan(config(imap=imap, smtp=password_smtp()), NOW)
    response = assert_blocked(plan, AccountState.CONNECT_ERROR, FailureCode.NOT_CONFIGURED)
    assert "IMAP host and port" in response


def test_account_without_any_section_blocks_with_not_configured() -> None:
    assert_blocked(build_plan(config(), NOW), AccountState.CONNECT_ERROR, FailureCode.NOT_CONFIGURED)


def test_disabled_imap_and_no_smtp_blocks_with_not_configured() -> None:
    plan = build_plan(config(imap=password_imap(disabled=True)), NOW)
    response = assert_blocked(plan, AccountState.CONNECT_ERROR, FailureCode.NOT_CONFIGURED)
    assert "neither IMAP nor SMTP" in response


@pytest.mark.parametrize("auth", [None, {"user": "alice"}, {"pass": "pw"}, {"user": "", "pass": "pw"}])
def test_imap_without_credentials_blocks_with_authentication_error(auth: dict[str, Any] | None) -> None:
    imap = {k: v for k, v in password_imap().items() if k != "auth"}
    if auth is not None:
        imap["auth"] = auth
    plan = build_plan(config(imap=imap, smtp=password_smtp()), NOW)
    response = assert_blocked(plan, AccountState.AUTHENTICATION_ERROR, FailureCode.NO_CREDENTIALS)
    assert "no IMAP password or access token" in response


def test_use_auth_server_blocks_with_authentication_error_about_the_auth_server() -> None:
    imap = {"host": "imap.example.com", "port": 993, "secure": True, "useAuthServer": True}
    plan = build_plan(config(imap=imap), NOW)
    response = assert_blocked(plan, AccountState.AUTHENTICATION_ERROR, FailureCode.NO_CREDENTIALS)
    assert "authentication server" in response


# -- OAuth2 ------------------------------------------------------------------------------------------


def test_oauth2_without_an_access_token_is_unset() -> None:
    plan = build_plan(config(oauth2={"provider": "gmail", "refreshToken": "r"}), NOW)
    assert_blocked(plan, AccountState.UNSET, FailureCode.NO_CREDENTIALS)


@pytest.mark.parametrize("expires", [
    "2030-06-01T11:00:00Z", "2030-06-01T12:00:00+00:00", "2030-06-01T12:00:30Z", "2030-06-01T11:59:00",
])
def test_oauth2_with_an_expired_or_expiring_token_is_unset(expires: str) -> None:
    plan = build_plan(config(oauth2={"provider": "gmail", "accessToken": "tok", "expires": expires}), NOW)
    assert_blocked(plan, AccountState.UNSET, FailureCode.NO_CREDENTIALS)


def test_oauth2_without_any_user_is_unset() -> None:
    plan = build_plan(config(oauth2={"provider": "gmail", "accessToken": "tok"}, email=None), NOW)
    assert_blocked(plan, AccountState.UNSET, FailureCode.NO_CREDENTIALS)


def test_oauth2_gmail_uses_provider_servers_with_xoauth2_credentials() -> None:
    oauth2 = {"provider": "gmail", "accessToken": "tok", "expires": LATER, "auth": {"user": "bob@gmail.com"}}
    plan = build_plan(config(oauth2=oauth2), NOW)
    assert plan.blocked is None
    assert plan.imap == ImapEndpoint("imap.gmail.com", 993, secure=True)
    assert plan.smtp == SmtpEndpoint("smtp.gmail.com", 465, secure=True)
    assert plan.imap_credentials == Credentials("bob@gmail.com", access_token="tok")
    assert plan.smtp_credentials == Credentials("bob@gmail.com", access_token="tok")
    assert plan.imap_credentials is not None and plan.imap_credentials.password is None


def test_oauth2_user_defaults_to_the_account_email() -> None:
    plan = build_plan(config(oauth2={"provider": "gmail", "accessToken": "tok"}, email="alice@gmail.com"), NOW)
    assert plan.imap_credentials == Credentials("alice@gmail.com", access_token="tok")


def test_oauth2_outlook_uses_starttls_submission_for_smtp() -> None:
    plan = build_plan(config(oauth2={"provider": "outlook", "accessToken": "tok", "expires": LATER}), NOW)
    assert plan.imap == ImapEndpoint("outlook.office365.com", 993, secure=True)
    assert plan.smtp == SmtpEndpoint("smtp.office365.com", 587, secure=False)


def test_oauth2_with_an_explicit_imap_host_uses_that_host_with_the_token() -> None:
    imap = {"host": "imap.corp.example", "port": 1993, "secure": True}
    plan = build_plan(config(imap=imap, oauth2={"provider": "gmail", "accessToken": "tok"}), NOW)
    assert plan.blocked is None
    assert plan.imap == ImapEndpoint("imap.corp.example", 1993, secure=True)
    assert plan.imap_credentials == Credentials("alice@example.com", access_token="tok")


def test_oauth2_token_wins_over_a_stored_imap_password() -> None:
    plan = build_plan(config(imap=password_imap(), oauth2={"accessToken": "tok"}), NOW)
    assert plan.imap_credentials == Credentials("alice@example.com", access_token="tok")


def test_oauth2_with_unknown_provider_and_no_host_is_not_configured() -> None:
    plan = build_plan(config(oauth2={"provider": "custom", "accessToken": "tok"}), NOW)
    assert_blocked(plan, AccountState.CONNECT_ERROR, FailureCode.NOT_CONFIGURED)


def test_token_expiry_is_judged_against_the_current_time_by_default() -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert build_plan(config(oauth2={"provider": "gmail", "accessToken": "tok", "expires": soon})).blocked is None
    blocked = build_plan(config(oauth2={"provider": "gmail", "accessToken": "tok", "expires": past})).blocked
    assert blocked is not None and blocked.state == AccountState.UNSET
