"""DKIM key generation: the key's kind and size, and that the DNS value really belongs to the private key."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from mailyard.hosting.dkim import DkimKey, dkim_txt_value, generate_dkim_key, public_from_private


@pytest.fixture(scope="module")
def key() -> DkimKey:
    return generate_dkim_key()


def _public_key_from_txt(txt: str) -> rsa.RSAPublicKey:
    """What a verifier does: take p= from the tag list and load it as DER SubjectPublicKeyInfo."""
    tags = dict(part.strip().split("=", 1) for part in txt.split(";"))
    public = serialization.load_der_public_key(base64.b64decode(tags["p"]))
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def test_key_is_2048_bit_rsa_in_unencrypted_pkcs8_pem(key: DkimKey) -> None:
    assert key.selector == "mailyard"
    assert key.private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, not "BEGIN RSA PRIVATE KEY"
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert private.public_key().public_numbers().e == 65537


def test_public_value_matches_the_private_key(key: DkimKey) -> None:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.b64decode(key.public_b64, validate=True) == der
    assert public_from_private(key.private_pem) == key.public_b64


def test_signature_by_private_key_verifies_with_key_from_dns_value(key: DkimKey) -> None:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signed = b"from:Ann <ann@example.test>\r\nsubject:hello\r\n"
    # rsa-sha256 as DKIM uses it: PKCS#1 v1.5 over SHA-256.
    signature = private.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    public = _public_key_from_txt(dkim_txt_value(key.public_b64))
    public.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(signature, signed + b"tampered", padding.PKCS1v15(), hashes.SHA256())


def test_txt_value_is_the_dkim1_rsa_tag_list(key: DkimKey) -> None:
    assert dkim_txt_value(key.public_b64) == f"v=DKIM1; k=rsa; p={key.public_b64}"


def test_each_key_is_fresh_and_takes_the_given_selector(key: DkimKey) -> None:
    other = generate_dkim_key("s2024")
    assert other.selector == "s2024"
    assert other.public_b64 != key.public_b64


def test_private_key_stays_out_of_repr(key: DkimKey) -> None:
    assert "PRIVATE" not in repr(key)
    assert key.public_b64 in repr(key)


def test_public_from_private_refuses_non_rsa_keys() -> None:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match="RSA"):
        public_from_private(pem)
