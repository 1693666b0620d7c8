"""TOTP codes follow RFC 6238 (SHA-1, 6 digits, 30 s) and verification tolerates only the allowed drift."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from mailyard.security.totp import code_at, new_secret, otpauth_uri, verify

# RFC 6238 Appendix B uses the ASCII secret "12345678901234567890" for SHA-1.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")


@pytest.mark.parametrize(("when", "code"), [
    # The appendix lists 8-digit codes; with the 6-digit modulus they are the same codes' last six digits.
    (59, "287082"),  # 94287082
    (1111111109, "081804"),  # 07081804
    (1111111111, "050471"),  # 14050471
    (1234567890, "005924"),  # 89005924
    (2000000000, "279037"),  # 69279037
    (20000000000, "353130"),  # 65353130
])
def test_rfc_6238_sha1_vectors(when: int, code: str) -> None:
    assert code_at(RFC_SECRET, when) == code
    assert verify(RFC_SECRET, code, when=when, window=0)


def test_new_secret_is_160_bits_of_base32_and_random() -> None:
    secret = new_secret()
    assert len(secret) == 32 and "=" not in secret
    assert len(base64.b32decode(secret)) == 20
    assert secret != new_secret()


def test_secret_is_read_with_spaces_lower_case_and_without_padding() -> None:
    spaced = " ".join(RFC_SECRET[i:i + 4] for i in range(0, 32, 4)).lower()
    assert code_at(spaced, 59) == "287082"
    assert code_at(base64.b32encode(b"0123456789").decode().rstrip("="), 59) == code_at(
        base64.b32encode(b"0123456789").decode(), 59)


def test_codes_of_the_neighbouring_steps_are_accepted_within_the_window() -> None:
    now = 1_700_000_015.0
    assert verify(RFC_SECRET, code_at(RFC_SECRET, now - 30), when=now)
    assert verify(RFC_SECRET, code_at(RFC_SECRET, now + 30), when=now)
    assert not verify(RFC_SECRET, code_at(RFC_SECRET, now - 60), when=now)
    assert not verify(RFC_SECRET, code_at(RFC_SECRET, now + 60), when=now)
    assert verify(RFC_SECRET, code_at(RFC_SECRET, now - 60), when=now, window=2)


def test_window_zero_accepts_only_the_current_step() -> None:
    now = 1_700_000_015.0
    assert verify(RFC_SECRET, code_at(RFC_SECRET, now), when=now, window=0)
    assert not verify(RFC_SECRET, code_at(RFC_SECRET, now - 30), when=now, window=0)


def test_verify_defaults_to_now() -> None:
    secret = new_secret()
    assert verify(secret, code_at(secret, time.time()))


FULLWIDTH_CODE = "\uff12\uff18\uff17\uff10\uff18\uff12"  # str.isdigit() says yes; the RFC says ASCII digits


@pytest.mark.parametrize("code", ["28708", "2870820", " 287082", "287082 ", "28708a", FULLWIDTH_CODE, "", None,
                                  287082, b"287082"])
def test_anything_but_six_ascii_digits_is_refused(code: object) -> None:
    assert verify(RFC_SECRET, code, when=59) is False


def test_wrong_code_is_refused() -> None:
    assert not verify(RFC_SECRET, "287083", when=59)


@pytest.mark.parametrize("secret", ["not base32!", "", "A"])
def test_malformed_secret_raises(secret: str) -> None:
    with pytest.raises(ValueError):
        code_at(secret, 59)


def test_negative_window_or_time_raises() -> None:
    with pytest.raises(ValueError):
        verify(RFC_SECRET, "287082", when=59, window=-1)
    with pytest.raises(ValueError):
        code_at(RFC_SECRET, -1)


def test_otpauth_uri_quotes_label_and_parameters() -> None:
    uri = otpauth_uri(RFC_SECRET, "joe+x@example.com", issuer="Acme & Co")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/Acme%20%26%20Co:joe%2Bx%40example.com"
    query = parse_qs(parts.query)
    assert query == {"secret": [RFC_SECRET], "issuer": ["Acme & Co"], "algorithm": ["SHA1"], "digits": ["6"],
                     "period": ["30"]}
    assert " " not in uri and "&amp;" not in uri


def test_otpauth_uri_refuses_a_colon_in_the_label() -> None:
    with pytest.raises(ValueError):
        otpauth_uri(RFC_SECRET, "a:b@example.com")
    with pytest.raises(ValueError):
        otpauth_uri(RFC_SECRET, "a@example.com", issuer="Acme: Mail")
