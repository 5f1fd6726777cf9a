"""Throw-away self-signed TLS certificates for the test servers (Dovecot, aiosmtpd).

Made with the system's ``openssl`` (installed by ``.ci/system-deps.sh``) in a private directory
chosen by the caller, valid for two days for ``localhost`` and 127.0.0.1. The key never leaves
that directory, which the tests delete.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = "openssl"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate (``cert``, PEM) and its private key (``key``, PEM)."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What a test server presents to its clients."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting this certificate only (for the tests' own IMAP clients)."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed(
    directory: Path,
    common_name: str = "localhost",
    names: str = "DNS:localhost,IP:127.0.0.1",
) -> Certificate:
    """A new key and self-signed certificate for ``names`` (by default ``localhost`` and
    127.0.0.1) in ``directory``."""
    if shutil.which(OPENSSL) is None:
        raise RuntimeError("openssl is not installed (make test installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    certificate = Certificate(directory / "cert.pem", directory / "key.pem")
    subprocess.run(
        [
            OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={common_name}",
            "-addext", f"subjectAltName={names}",
            "-keyout", str(certificate.key), "-out", str(certificate.cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate
