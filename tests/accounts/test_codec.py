"""The account codec: the EmailEngine update rule for the imap/smtp/oauth2 sections (replace, or merge when
`"partial": true`), and the split of each section into a readable public part and sealed secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mailyard.accounts.codec import SECTIONS, join, merge, seal, split, unseal
from mailyard.accounts.model import ImapSettings, OAuth2Settings, SmtpSettings
from mailyard.security.secretbox import SecretBox, SecretBoxError

IMAP_PASS = "imap-Pa55word!"
SMTP_TOKEN = "smtp-access-token-XYZ"
OAUTH_ACCESS = "ya29.oauth-access"
OAUTH_REFRESH = "1//oauth-refresh"
SECRET_VALUES = (IMAP_PASS, SMTP_TOKEN, OAUTH_ACCESS, OAUTH_REFRESH)


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox("any secret")


def stored_imap() -> dict[str, Any]:
    return {
        "host": "imap.example.com",
        "port": 993,
        "secure": True,
        "auth": {"user": "alice", "pass": IMAP_PASS},
        "tls": {"rejectUnauthorized": False, "servername": "mail.example.com"},
        "sentMailPath": "Sent Items",
    }


def full_sections() -> dict[str, dict[str, Any] | None]:
    return {
        "imap": stored_imap(),
        "smtp": {"host": "smtp.example.com", "port": 465, "secure": True,
                 "auth": {"user": "alice", "accessToken": SMTP_TOKEN}},
        "oauth2": {"provider": "gmail", "accessToken": OAUTH_ACCESS, "refreshToken": OAUTH_REFRESH,
                   "expires": "2030-01-01T00:00:00Z", "auth": {"user": "alice@example.com"}},
    }


# -- merge: replace ----------------------------------------------------------------------------------


def test_update_without_partial_replaces_the_whole_section() -> None:
    sent = ImapSettings.model_validate({"host": "imap.other.org", "port": 143})
    assert merge(stored_imap(), sent) == {"host": "imap.other.org", "port": 143}


def test_replacement_drops_fields_sent_as_null() -> None:
    sent = ImapSettings.model_validate({"host": "imap.other.org", "port": 143, "secure": None})
    assert merge(stored_imap(), sent) == {"host": "imap.other.org", "port": 143}


def test_partial_false_also_replaces_and_is_not_stored() -> None:
    sent = ImapSettings.model_validate({"partial": False, "host": "imap.other.org", "port": 143})
    assert merge(stored_imap(), sent) == {"host": "imap.other.org", "port": 143}


def test_none_section_clears_the_stored_one() -> None:
    assert merge(stored_imap(), None) is None


# -- merge: partial ----------------------------------------------------------------------------------


def test_partial_update_keeps_stored_auth() -> None:
    sent = ImapSettings.model_validate({"partial": True, "port": 143, "secure": False})
    merged = merge(stored_imap(), sent)
    assert merged == {**stored_imap(), "port": 143, "secure": False}
    assert merged is not None and merged["auth"] == {"user": "alice", "pass": IMAP_PASS}


def test_partial_flag_given_as_string_merges_too() -> None:
    sent = ImapSettings.model_validate({"partial": "true", "port": 143})
    assert merge(stored_imap(), sent) == {**stored_imap(), "port": 143}


def test_partial_update_replaces_nested_auth_whole() -> None:
    sent = ImapSettings.model_validate({"partial": True, "auth": {"user": "bob", "accessToken": "new-token"}})
    merged = merge(stored_imap(), sent)
    assert merged is not None
    assert merged["auth"] == {"user": "bob", "accessToken": "new-token"}  # the old pass is not carried over
    assert merged["host"] == "imap.example.com"


def test_partial_update_replaces_nested_tls_whole() -> None:
    sent = ImapSettings.model_validate({"partial": True, "tls": {"minVersion": "TLSv1.2"}})
    merged = merge(stored_imap(), sent)
    assert merged is not None
    assert merged["tls"] == {"minVersion": "TLSv1.2"}


def test_partial_update_removes_fields_sent_as_null() -> None:
    sent = ImapSettings.model_validate({"partial": True, "sentMailPath": None, "tls": None})
    merged = merge(stored_imap(), sent)
    assert merged is not None
    assert "sentMailPath" not in merged and "tls" not in merged
    assert merged["auth"] == {"user": "alice", "pass": IMAP_PASS}


def test_partial_update_without_stored_section_keeps_only_sent_values() -> None:
    sent = SmtpSettings.model_validate({"partial": True, "host": "smtp.example.com", "port": 587, "secure": None})
    assert merge(None, sent) == {"host": "smtp.example.com", "port": 587}


def test_partial_update_does_not_change_the_stored_dict() -> None:
    stored = stored_imap()
    merge(stored, ImapSettings.model_validate({"partial": True, "port": 143, "sentMailPath": None}))
    assert stored == stored_imap()


def test_partial_oauth2_update_keeps_refresh_token_and_stores_expiry_as_text() -> None:
    stored = full_sections()["oauth2"]
    sent = OAuth2Settings.model_validate({"partial": True, "accessToken": "fresh", "expires": "2031-05-01T10:00:00Z"})
    merged = merge(stored, sent)
    assert merged is not None
    assert merged["accessToken"] == "fresh"
    assert merged["refreshToken"] == OAUTH_REFRESH
    assert merged["provider"] == "gmail"
    assert isinstance(merged["expires"], str) and merged["expires"].startswith("2031-05-01T10:00:00")


# -- split / join ------------------------------------------------------------------------------------


def test_split_takes_the_password_out_of_imap_auth() -> None:
    full = stored_imap()
    public, secrets = split("imap", full)
    assert secrets == {"pass": IMAP_PASS}
    assert public is not None and public["auth"] == {"user": "alice"}
    assert full["auth"]["pass"] == IMAP_PASS  # the input is left whole


def test_split_takes_the_access_token_out_of_smtp_auth() -> None:
    public, secrets = split("smtp", full_sections()["smtp"])
    assert secrets == {"accessToken": SMTP_TOKEN}
    assert public is not None and public["auth"] == {"user": "alice"}


def test_split_takes_both_tokens_out_of_oauth2_and_keeps_its_auth_user() -> None:
    public, secrets = split("oauth2", full_sections()["oauth2"])
    assert secrets == {"accessToken": OAUTH_ACCESS, "refreshToken": OAUTH_REFRESH}
    assert public == {"provider": "gmail", "expires": "2030-01-01T00:00:00Z", "auth": {"user": "alice@example.com"}}


def test_split_of_a_section_without_auth_has_no_secrets() -> None:
    assert split("imap", {"host": "imap.example.com", "port": 993}) == ({"host": "imap.example.com", "port": 993}, {})
    assert split("imap", None) == (None, {})


@pytest.mark.parametrize("name", SECTIONS)
def test_join_restores_what_split_took_out(name: str) -> None:
    full = full_sections()[name]
    public, secrets = split(name, full)
    assert join(name, public, secrets) == full


def test_join_of_a_missing_section_is_none() -> None:
    assert join("imap", None, {"pass": IMAP_PASS}) is None


# -- seal / unseal -----------------------------------------------------------------------------------


def test_sealed_sections_keep_every_secret_out_of_the_public_part(box: SecretBox) -> None:
    public, blob = seal(box, full_sections())
    public_text = json.dumps(public)
    assert blob is not None
    for secret in SECRET_VALUES:
        assert secret not in public_text
        assert secret not in blob
    assert public["imap"] is not None and public["imap"]["auth"] == {"user": "alice"}
    assert public["oauth2"] is not None and public["oauth2"]["provider"] == "gmail"


def test_seal_then_unseal_round_trips_all_sections(box: SecretBox) -> None:
    public, blob = seal(box, full_sections())
    assert unseal(box, public, blob) == full_sections()


def test_sections_without_secrets_need_no_credentials_blob(box: SecretBox) -> None:
    sections = {"imap": {"host": "imap.example.com", "port": 143}, "smtp": None}
    public, blob = seal(box, sections)
    assert blob is None
    assert public == {"imap": {"host": "imap.example.com", "port": 143}, "smtp": None, "oauth2": None}
    assert unseal(box, public, None) == public


def test_credentials_sealed_under_another_secret_are_refused(box: SecretBox) -> None:
    public, blob = seal(SecretBox("another secret"), full_sections())
    with pytest.raises(SecretBoxError):
        unseal(box, public, blob)
