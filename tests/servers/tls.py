"""A throwaway certificate authority and a loopback server certificate for the test mail servers.

The CA exists only in the session's temporary directory. Clients that verify against it (``ca_pem`` or
``ca_cert_path``) accept the servers; clients that verify against the system trust store reject them,
which is exactly what "self-signed certificate refused" tests need, so no second certificate exists.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# P-256 keys are generated in microseconds while RSA costs noticeable time on every session start.
_CURVE = ec.SECP256R1()
_VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True)
class ThrowawayCA:
    """PEM files of the test CA and of a server certificate for ``localhost`` / ``127.0.0.1``."""

    ca_cert_path: Path
    cert_path: Path
    key_path: Path
    ca_pem: str

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for clients that trusts only the test CA and checks the host name."""
        return ssl.create_default_context(cadata=self.ca_pem)

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for in-process test servers presenting the server certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_path), str(self.key_path))
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mailyard tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = _name("Mailyard throwaway test CA")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    now: dt.datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def make_throwaway_ca(directory: Path) -> ThrowawayCA:
    """Create the CA and the server certificate as PEM files in ``directory`` and describe them."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(_CURVE)
    ca_cert = _ca_certificate(ca_key, now)
    server_key = ec.generate_private_key(_CURVE)
    server_cert = _server_certificate(server_key, ca_key, ca_cert, now)

    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_cert_path = directory / "ca.pem"
    cert_path = directory / "server.pem"
    key_path = directory / "server.key"
    ca_cert_path.write_bytes(ca_pem)
    # Servers that send the chain (Postfix, Dovecot) help clients that only know the CA file.
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    key_path.write_bytes(_pem_key(server_key))
    # Dovecot and Postfix read keys as root before dropping privileges, so owner-only is enough.
    key_path.chmod(0o600)
    return ThrowawayCA(ca_cert_path=ca_cert_path, cert_path=cert_path, key_path=key_path, ca_pem=ca_pem.decode())
