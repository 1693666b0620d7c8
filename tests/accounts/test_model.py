"""Validation of account settings as clients send them: hostnames, booleans, auth, required and unknown fields,
folder paths and account ids."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mailyard.accounts.model import (
    ACCOUNT_ID_MAX,
    AccountCreate,
    AccountUpdate,
    Auth,
    ImapSettings,
    Tls,
    check_hostname,
)


def create_body(**fields: Any) -> dict[str, Any]:
    return {"account": "acc-1", "email": "user@example.com", **fields}


def error_types(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {error["type"] for error in exc.value.errors()}


def error_locations(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[Any, ...]]:
    return {tuple(error["loc"]) for error in exc.value.errors()}


# -- hostnames ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [
    "imap.example.com", "localhost", "mail-1.example.co.uk", "host.", "a_b.example.com",
    "192.168.0.10", "::1", "fe80::1", "2001:db8::8a2e:370:7334",
])
def test_valid_hostnames_and_ip_addresses_are_accepted(host: str) -> None:
    assert check_hostname(host) == host


def test_hostname_is_trimmed() -> None:
    assert check_hostname("  imap.example.com ") == "imap.example.com"


@pytest.mark.parametrize("host", [
    "", "   ", "exa mple.com", "-bad.example.com", "bad-.example.com", "a..b", "imap.example.com/x",
    "x" * 64 + ".example.com", ".".join(["abcdefghij"] * 24), "[::1]", "user@imap.example.com",
])
def test_malformed_hostnames_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="valid hostname or IP address"):
        check_hostname(host)


@pytest.mark.parametrize("host", [":", ":::", "1:2", "192.168.1.10:993"])
def test_colon_strings_that_are_not_ip_addresses_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="valid hostname or IP address"):
        check_hostname(host)


def test_server_settings_run_the_hostname_check() -> None:
    assert ImapSettings.model_validate({"host": " imap.example.com"}).host == "imap.example.com"
    with pytest.raises(ValidationError, match="valid hostname or IP address"):
        ImapSettings.model_validate({"host": "not a host"})


# -- booleans ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected"), [(True, True), (False, False), ("true", True), ("false", False)])
def test_booleans_accept_true_false_and_their_strings(given: Any, expected: bool) -> None:
    assert ImapSettings.model_validate({"secure": given}).secure is expected
    assert Tls.model_validate({"rejectUnauthorized": given}).rejectUnauthorized is expected
    assert AccountUpdate.model_validate({"disabled": given}).disabled is expected


@pytest.mark.parametrize("given", ["yes", "no", "on", "1", "0", "", 1, 0, 1.0, [True]])
def test_booleans_refuse_other_truthy_or_falsy_values(given: Any) -> None:
    with pytest.raises(ValidationError):
        ImapSettings.model_validate({"secure": given})
    with pytest.raises(ValidationError):
        Tls.model_validate({"rejectUnauthorized": given})
    with pytest.raises(ValidationError):
        AccountUpdate.model_validate({"disabled": given})


def test_optional_boolean_may_be_null_but_partial_may_not() -> None:
    assert ImapSettings.model_validate({"secure": None}).secure is None
    with pytest.raises(ValidationError):
        ImapSettings.model_validate({"partial": None})


# -- auth --------------------------------------------------------------------------------------------


def test_auth_with_a_password_reads_the_pass_alias() -> None:
    auth = Auth.model_validate({"user": "alice", "pass": "secret"})
    assert auth.pass_ == "secret"
    assert auth.accessToken is None
    assert auth.model_dump(by_alias=True, exclude_unset=True) == {"user": "alice", "pass": "secret"}


def test_auth_with_an_access_token_only_is_valid() -> None:
    assert Auth.model_validate({"user": "alice", "accessToken": "tok"}).accessToken == "tok"


def test_auth_with_both_password_and_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="either pass or accessToken, not both"):
        Auth.model_validate({"user": "alice", "pass": "secret", "accessToken": "tok"})


@pytest.mark.parametrize("body", [{"user": "alice"}, {"user": "alice", "pass": None, "accessToken": None}])
def test_auth_without_any_secret_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="pass or accessToken is required"):
        Auth.model_validate(body)


def test_auth_with_empty_password_is_refused() -> None:
    with pytest.raises(ValidationError):
        Auth.model_validate({"user": "alice", "pass": ""})


def test_auth_needs_a_user() -> None:
    with pytest.raises(ValidationError) as exc:
        Auth.model_validate({"pass": "secret"})
    assert ("user",) in error_locations(exc)


# -- required and unknown fields ---------------------------------------------------------------------


def test_create_requires_the_account_field() -> None:
    with pytest.raises(ValidationError) as exc:
        AccountCreate.model_validate({"email": "user@example.com"})
    assert ("account",) in error_locations(exc)
    assert "missing" in error_types(exc)


def test_create_accepts_a_null_account_id() -> None:
    body = AccountCreate.model_validate(create_body(account=None))
    assert body.account is None
    assert "account" in body.model_fields_set


def test_create_requires_an_email() -> None:
    with pytest.raises(ValidationError) as exc:
        AccountCreate.model_validate({"account": "acc-1"})
    assert ("email",) in error_locations(exc)


@pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "with space@example.com", "@example.com"])
def test_create_refuses_malformed_email(email: str) -> None:
    with pytest.raises(ValidationError, match="valid email address"):
        AccountCreate.model_validate(create_body(email=email))


def test_email_is_trimmed() -> None:
    assert AccountCreate.model_validate(create_body(email=" user@example.com ")).email == "user@example.com"


def test_update_needs_neither_account_nor_email() -> None:
    assert AccountUpdate.model_validate({"name": "Renamed"}).model_fields_set == {"name"}


def test_unknown_top_level_field_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as exc:
        AccountCreate.model_validate(create_body(nmae="typo"))
    assert error_types(exc) == {"extra_forbidden"}
    assert error_locations(exc) == {("nmae",)}


def test_unknown_nested_field_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as exc:
        AccountUpdate.model_validate({"imap": {"hots": "imap.example.com"}})
    assert error_types(exc) == {"extra_forbidden"}
    assert error_locations(exc) == {("imap", "hots")}


def test_unknown_field_inside_auth_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        AccountUpdate.model_validate({"smtp": {"auth": {"user": "a", "pass": "p", "password": "p"}}})
    assert ("smtp", "auth", "password") in error_locations(exc)


# -- path --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["*", "INBOX", ["INBOX"], ["INBOX", "Sent Items"]])
def test_path_accepts_star_a_folder_or_a_list_of_folders(path: Any) -> None:
    assert AccountCreate.model_validate(create_body(path=path)).path == path


@pytest.mark.parametrize("path", ["", "   ", [], [""]])
def test_path_refuses_blank_or_empty_values(path: Any) -> None:
    with pytest.raises(ValidationError):
        AccountCreate.model_validate(create_body(path=path))


# -- account id --------------------------------------------------------------------------------------


def test_account_id_may_hold_most_characters() -> None:
    assert AccountCreate.model_validate(create_body(account="user@example.com:work 1")).account == (
        "user@example.com:work 1")


@pytest.mark.parametrize("account", ["a/b", "/", "tab\there", "new\nline", "nul\x00"])
def test_account_id_may_not_contain_slash_or_control_characters(account: str) -> None:
    with pytest.raises(ValidationError, match="must not contain '/' or control characters"):
        AccountCreate.model_validate(create_body(account=account))


def test_account_id_length_is_bounded() -> None:
    assert AccountCreate.model_validate(create_body(account="a" * ACCOUNT_ID_MAX)).account == "a" * ACCOUNT_ID_MAX
    with pytest.raises(ValidationError):
        AccountCreate.model_validate(create_body(account="a" * (ACCOUNT_ID_MAX + 1)))
    with pytest.raises(ValidationError):
        AccountCreate.model_validate(create_body(account=""))
