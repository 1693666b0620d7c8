"""Webhook signatures: EmailEngine's `X-EE-Wh-Signature`, base64url HMAC-SHA256 of the raw body."""

from mailyard.events.signing import SIGNATURE_HEADER, sign, verify

BODY = b'{"event":"messageNew"}'
# What Node computes: crypto.createHmac('sha256', 'topsecret').update(BODY).digest('base64url')
NODE_SIGNATURE = "finiIQFbsXj9o1CUOZt7pMcVTMY0-pe4yp7lMglNyuw"


def test_signature_matches_what_emailengine_receivers_compute() -> None:
    assert SIGNATURE_HEADER == "X-EE-Wh-Signature"
    assert sign(BODY, "topsecret") == NODE_SIGNATURE


def test_signature_is_base64url_without_padding() -> None:
    for body in (b"", b"x", b"xy", BODY * 7):
        signature = sign(body, "k")
        assert "=" not in signature and "+" not in signature and "/" not in signature
        assert len(signature) == 43


def test_verify_accepts_the_right_signature_and_tolerates_padding() -> None:
    assert verify(BODY, NODE_SIGNATURE, "topsecret")
    assert verify(BODY, NODE_SIGNATURE + "=", "topsecret")


def test_verify_rejects_other_body_secret_or_missing_signature() -> None:
    assert not verify(BODY + b" ", NODE_SIGNATURE, "topsecret")
    assert not verify(BODY, NODE_SIGNATURE, "other")
    assert not verify(BODY, None, "topsecret")
    assert not verify(BODY, "", "topsecret")
    assert not verify(BODY, "ünicode", "topsecret")


def test_unicode_secret_is_used_as_utf8() -> None:
    assert verify(BODY, sign(BODY, "päss"), "päss")
    assert not verify(BODY, sign(BODY, "päss"), "pass")
