"""Mailbox settings: Qboxmail's "Update email account" fields, validated strictly and merged over stored values."""

from __future__ import annotations

from typing import Any

import pytest

from mailyard.errors import ErrorKind, MailyardError
from mailyard.hosting.settings import (
    SETTING_FIELDS,
    MailboxSettings,
    apply_settings,
    settings_from_json,
    settings_to_json,
)

QUOTAS = [
    52428800, 1073741824, 2147483648, 3221225472, 4294967296, 5368709120, 6442450944, 7516192768, 8589934592,
    17179869184, 26843545600, 53687091200, 107374182400,
]
ENUMS: dict[str, list[Any]] = {
    "language": ["it", "en", "es"],
    "password_expiration": [-1, 3, 6, 12],
    "max_email_quota": QUOTAS,
    "webmail_language": ["it", "en", "nl", "sv", "es", "pt", "de", "gr", "fr"],
    "webmail_time_format": ["12h", "24h"],
    "webmail_date_format": ["YYYY/MM/DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD MMM YYYY", "MMM DD YYYY", "DD.MM.YYYY"],
}
BOOLEANS = [
    "autoresponder_enabled", "autoresponder_intervals_enabled", "spam_in_inbox", "password_change_disabled",
    "force_new_password", "hide_from_addressbook_company", "keep_copy", "bounce_mail", "pop_disabled",
    "imap_disabled", "smtp_disabled", "webmail_disabled", "chat", "activesync", "meeting", "calendar", "dav",
    "api_enabled", "password_recovery_disabled", "block_old_password", "force_otp", "apply_allow_nets_webmail",
    "destroy_sessions_on_password_expiration", "restrict_from_field",
]
TEXTS = [
    "description", "firstname", "lastname", "country", "state", "zip", "address", "company", "role", "team_manager",
    "telephone", "mobilephone", "fax", "organizational_unit",
]


def errors_of(changes: dict[str, Any], current: MailboxSettings | None = None) -> dict[str, str]:
    with pytest.raises(MailyardError) as caught:
        apply_settings(changes, current)
    assert caught.value.kind is ErrorKind.VALIDATION
    assert caught.value.code == "InputValidationError"
    return {error.field: error.message for error in caught.value.errors}


def test_setting_fields_cover_the_seed_except_the_password() -> None:
    others = {
        "autoresponder_subject", "autoresponder_body", "autoresponder_start_date", "autoresponder_end_date",
        "timezone", "outbound_limit", "tags", "forwards", "allow_nets", "bounce_msg", "secondary_email_account",
        "webmail_timezone",
    }
    assert set(ENUMS) | set(BOOLEANS) | set(TEXTS) | others == SETTING_FIELDS
    assert "password" not in SETTING_FIELDS and "password_confirmation" not in SETTING_FIELDS


def test_defaults_are_a_providers_new_mailbox() -> None:
    s = MailboxSettings()
    assert s.keep_copy and s.restrict_from_field
    assert s.chat and s.activesync and s.meeting and s.calendar and s.dav
    assert not s.api_enabled and not s.pop_disabled and not s.imap_disabled and not s.bounce_mail
    assert s.password_expiration == -1 and s.outbound_limit == 0 and s.max_email_quota == 1073741824
    assert s.language == "en" and s.webmail_time_format == "24h"
    assert s.tags == [] and s.forwards == [] and s.allow_nets == [] and s.firstname is None and s.timezone is None


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, values in ENUMS.items() for v in values])
def test_every_enum_value_is_accepted(field: str, value: Any) -> None:
    assert getattr(apply_settings({field: value}), field) == value


@pytest.mark.parametrize(("field", "value"), [
    ("language", "fr"), ("language", "EN"), ("language", None), ("password_expiration", 1),
    ("password_expiration", 0), ("webmail_language", "el"), ("webmail_time_format", "24"),
    ("webmail_date_format", "YYYY-MM-DD"), ("max_email_quota", 0), ("max_email_quota", 1000000000),
])
def test_enum_value_outside_the_list_is_rejected_naming_the_field(field: str, value: Any) -> None:
    message = errors_of({field: value})[field]
    assert message.startswith("must be one of ")
    assert str(ENUMS[field][0]) in message


def test_quota_outside_enum_is_rejected_naming_the_field() -> None:
    assert errors_of({"max_email_quota": 52428801}) == {
        "max_email_quota": "must be one of " + ", ".join(str(q) for q in QUOTAS) + ", or null",
    }


def test_null_quota_means_unlimited() -> None:
    assert apply_settings({"max_email_quota": None}).max_email_quota is None


@pytest.mark.parametrize("value", [True, "3", 3.0])
def test_integer_enums_take_integers_only(value: Any) -> None:
    assert "password_expiration" in errors_of({"password_expiration": value})
    assert "max_email_quota" in errors_of({"max_email_quota": value})


@pytest.mark.parametrize("field", BOOLEANS)
@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None])
def test_booleans_are_strict(field: str, value: Any) -> None:
    assert errors_of({field: value}) == {field: "must be a boolean (true or false)"}


@pytest.mark.parametrize("field", BOOLEANS)
def test_booleans_take_true_and_false(field: str) -> None:
    assert getattr(apply_settings({field: True}), field) is True
    assert getattr(apply_settings({field: False}), field) is False


@pytest.mark.parametrize("value", [True, "5", 5.0, None])
def test_outbound_limit_is_a_strict_integer(value: Any) -> None:
    assert errors_of({"outbound_limit": value}) == {"outbound_limit": "must be an integer"}


def test_outbound_limit_zero_restores_the_default_and_negative_is_rejected() -> None:
    assert apply_settings({"outbound_limit": 7}).outbound_limit == 7
    assert apply_settings({"outbound_limit": 0}).outbound_limit == 0
    assert errors_of({"outbound_limit": -1}) == {"outbound_limit": "must be at least 0"}


@pytest.mark.parametrize("field", TEXTS)
def test_address_book_texts_are_limited_to_one_line_of_255_characters(field: str) -> None:
    assert getattr(apply_settings({field: "x" * 255}), field) == "x" * 255
    assert apply_settings({field: None}).model_dump()[field] is None
    assert errors_of({field: "x" * 256}) == {field: "must be at most 255 characters"}
    assert errors_of({field: 5}) == {field: "must be a string"}
    assert field in errors_of({field: "Bob\r\nBcc: x@example.com"})


def test_allow_nets_are_normalized_to_network_form() -> None:
    s = apply_settings({"allow_nets": ["10.1.2.3/8", "192.0.2.7", " 2001:DB8::1 ", "2001:db8:0::/32", "10.0.0.0/8"]})
    assert s.allow_nets == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128", "2001:db8::/32"]


@pytest.mark.parametrize("bad", ["nope", "10.0.0.256", "10.0.0.0/33", "", "fe80::1%eth0", "example.com"])
def test_allow_net_that_is_not_an_address_or_network_is_rejected_by_position(bad: str) -> None:
    assert errors_of({"allow_nets": ["192.0.2.1", bad]}) == {"allow_nets.1": "is not a valid IP address or network"}


def test_allow_nets_must_be_a_list_of_strings_of_at_most_50() -> None:
    assert errors_of({"allow_nets": "10.0.0.0/8"}) == {"allow_nets": "must be a list"}
    assert errors_of({"allow_nets": [167772160]}) == {"allow_nets.0": "must be a string"}
    assert len(apply_settings({"allow_nets": [f"10.0.0.{i}" for i in range(50)]}).allow_nets) == 50
    assert errors_of({"allow_nets": [f"10.0.0.{i}" for i in range(51)]}) == {
        "allow_nets": "must have at most 50 entries",
    }


def test_forwards_lower_case_the_domain_and_drop_duplicates() -> None:
    s = apply_settings({"forwards": ["Boss@Example.COM", "boss@example.com", " x@bücher.de ", "Boss@example.com"]})
    assert s.forwards == ["Boss@example.com", "boss@example.com", "x@xn--bcher-kva.de"]


@pytest.mark.parametrize("bad", ["plain", "@example.com", "a@", "a@b", "a..b@example.com", "a b@example.com",
                                 "a@-x.com", "a@1.2.3.4", "a@exa_mple.com", ("x" * 65) + "@example.com"])
def test_forward_that_is_not_an_email_address_is_rejected_by_position(bad: str) -> None:
    assert errors_of({"forwards": ["ok@example.com", bad]}) == {"forwards.1": "is not a valid email address"}


def test_forwards_are_limited_to_20_counting_duplicates_once() -> None:
    twenty = [f"user{i}@example.com" for i in range(20)]
    assert len(apply_settings({"forwards": [*twenty, twenty[0]]}).forwards) == 20
    assert errors_of({"forwards": [*twenty, "one-more@example.com"]}) == {"forwards": "must have at most 20 entries"}


def test_secondary_email_account_is_an_email_address_or_null() -> None:
    assert apply_settings({"secondary_email_account": "Me@Home.Example"}).secondary_email_account == "Me@home.example"
    assert apply_settings({"secondary_email_account": None}).secondary_email_account is None
    assert errors_of({"secondary_email_account": "nobody"}) == {
        "secondary_email_account": "is not a valid email address",
    }


def test_tags_are_trimmed_deduplicated_and_limited() -> None:
    assert apply_settings({"tags": ["vip", " vip ", "sales", "vip"]}).tags == ["vip", "sales"]
    assert errors_of({"tags": ["ok", "  "]}) == {"tags.1": "must not be empty"}
    assert errors_of({"tags": ["x" * 65]}) == {"tags.0": "must be at most 64 characters"}
    assert errors_of({"tags": [f"t{i}" for i in range(51)]}) == {"tags": "must have at most 50 entries"}
    assert errors_of({"tags": [1]}) == {"tags.0": "must be a string"}


def test_autoresponder_dates_are_real_iso_dates() -> None:
    s = apply_settings({"autoresponder_start_date": "2024-02-29", "autoresponder_end_date": "2024-03-01"})
    assert (s.autoresponder_start_date, s.autoresponder_end_date) == ("2024-02-29", "2024-03-01")
    assert errors_of({"autoresponder_start_date": "2023-02-29", "autoresponder_end_date": "01/03/2024"}) == {
        "autoresponder_start_date": "is not a real calendar date",
        "autoresponder_end_date": "must be a date in YYYY-MM-DD format",
    }
    assert "autoresponder_start_date" in errors_of({"autoresponder_start_date": "20240101"})


def test_autoresponder_end_before_start_is_rejected_and_same_day_is_fine() -> None:
    assert errors_of({"autoresponder_start_date": "2024-05-10", "autoresponder_end_date": "2024-05-09"}) == {
        "autoresponder_end_date": "must not be before autoresponder_start_date",
    }
    assert apply_settings({"autoresponder_start_date": "2024-05-10", "autoresponder_end_date": "2024-05-10"})
    assert apply_settings({"autoresponder_end_date": "2024-05-10"}).autoresponder_start_date is None


def test_moving_only_the_start_past_the_stored_end_blames_the_start() -> None:
    current = apply_settings({"autoresponder_start_date": "2024-05-10", "autoresponder_end_date": "2024-05-20"})
    assert errors_of({"autoresponder_start_date": "2024-06-01"}, current) == {
        "autoresponder_start_date": "must not be after autoresponder_end_date",
    }


def test_autoresponder_texts() -> None:
    s = apply_settings({"autoresponder_subject": "Away", "autoresponder_body": "Back on Monday.\r\n\tBob"})
    assert s.autoresponder_body == "Back on Monday.\r\n\tBob"
    assert "autoresponder_subject" in errors_of({"autoresponder_subject": "Away\nBcc: x@example.com"})
    assert "autoresponder_body" in errors_of({"autoresponder_body": "x\x00"})


def test_bounce_msg_is_one_line_of_at_most_1000_characters() -> None:
    assert apply_settings({"bounce_msg": "x" * 1000}).bounce_msg == "x" * 1000
    assert errors_of({"bounce_msg": "x" * 1001}) == {"bounce_msg": "must be at most 1000 characters"}
    assert errors_of({"bounce_msg": "Gone\r\n250 OK"}) == {"bounce_msg": "must be a single line (no line breaks)"}
    assert "bounce_msg" in errors_of({"bounce_msg": "Gone\n"})


@pytest.mark.parametrize("field", ["timezone", "webmail_timezone"])
def test_time_zones_are_iana_names_or_null(field: str) -> None:
    assert getattr(apply_settings({field: "Europe/Rome"}), field) == "Europe/Rome"
    assert getattr(apply_settings({field: "UTC"}), field) == "UTC"
    assert getattr(apply_settings({field: None}), field) is None
    for bad in ["Mars/Olympus_Mons", "europe/rome", "+02:00", ""]:
        assert errors_of({field: bad}) == {field: "is not a known IANA time zone (like Europe/Rome)"}


def test_merge_keeps_untouched_fields() -> None:
    current = apply_settings({"firstname": "Ada", "forwards": ["a@example.com"], "pop_disabled": True})
    changed = apply_settings({"lastname": "Lovelace", "pop_disabled": False}, current)
    assert (changed.firstname, changed.lastname, changed.forwards) == ("Ada", "Lovelace", ["a@example.com"])
    assert changed.pop_disabled is False
    assert current.pop_disabled is True and current.lastname is None  # the stored value is not modified


def test_null_clears_a_text_and_an_empty_list_clears_a_list() -> None:
    current = apply_settings({"firstname": "Ada", "tags": ["vip"]})
    cleared = apply_settings({"firstname": None, "tags": []}, current)
    assert cleared.firstname is None and cleared.tags == []


def test_keys_that_are_not_settings_are_ignored() -> None:
    assert apply_settings({"password": "whatever", "name": 5}) == MailboxSettings()


def test_a_failed_change_leaves_nothing_half_applied() -> None:
    current = apply_settings({"firstname": "Ada"})
    errors_of({"firstname": "Grace", "language": "xx"}, current)
    assert current.firstname == "Ada"


def test_several_errors_are_reported_at_once() -> None:
    with pytest.raises(MailyardError) as caught:
        apply_settings({"chat": "yes", "language": "xx", "forwards": ["ok@example.com", "bad"],
                        "allow_nets": ["bad"], "timezone": "Nowhere", "outbound_limit": -5})
    assert {e.field for e in caught.value.errors} == {
        "chat", "language", "forwards.1", "allow_nets.0", "timezone", "outbound_limit",
    }
    assert "(and 5 more)" in caught.value.message


def test_json_roundtrip_keeps_every_value() -> None:
    s = apply_settings({
        "firstname": "Ada", "tags": ["vip"], "forwards": ["a@example.com"], "allow_nets": ["10.0.0.0/8"],
        "max_email_quota": None, "password_expiration": 6, "autoresponder_start_date": "2024-01-01",
        "webmail_date_format": "DD.MM.YYYY", "timezone": "Europe/Rome", "api_enabled": True,
    })
    data = settings_to_json(s)
    assert set(data) == SETTING_FIELDS
    assert data["allow_nets"] == ["10.0.0.0/8"] and data["max_email_quota"] is None
    assert settings_from_json(data) == s


def test_json_from_an_old_row_uses_defaults_and_ignores_unknown_keys() -> None:
    s = settings_from_json({"firstname": "Ada", "retired_setting": True})
    assert s.firstname == "Ada"
    assert s == MailboxSettings(firstname="Ada")


def test_json_with_a_value_that_no_longer_validates_raises() -> None:
    with pytest.raises(ValueError):
        settings_from_json({"allow_nets": ["not a network"]})
