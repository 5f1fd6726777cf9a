"""TLS for IMAP and SMTP: the context an account connects with, and readable failures.

Certificates are verified against the system's authorities plus, when the account names one,
its own CA file (a self-signed server's certificate or a private CA), so one setting serves an
in-house IMAP server and a public SMTP relay alike.
"""

from __future__ import annotations

import ssl

from connectors.email.config import MailboxConfig

# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH: a trusted
# certificate made out to another name, which no CA file can fix.
NAME_MISMATCH = frozenset({62, 64})


class TlsSetupError(Exception):
    """The account's TLS settings cannot be used (an unreadable CA file)."""


def tls_context(config: MailboxConfig) -> ssl.SSLContext:
    """A client context for ``config``; raises TlsSetupError when its CA file is unusable."""
    context = ssl.create_default_context()
    if config.tls_ca_file:
        try:
            context.load_verify_locations(cafile=config.tls_ca_file)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise TlsSetupError(
                f"cannot use tls_ca_file {config.tls_ca_file}: {reason}"[:300]
            ) from None
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def untrusted_certificate(exc: BaseException, server: str) -> str | None:
    """Why ``server``'s certificate was refused, when that is what ``exc`` (or its cause) is."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            why = current.verify_message or current.reason or "verification failed"
            if current.verify_code in NAME_MISMATCH:
                return (
                    f"the TLS certificate of {server} is for another name ({why}); connect "
                    "with a host name the certificate carries"
                )
            return (
                f"the TLS certificate of {server} is not trusted ({why}); if the server uses "
                "a self-signed or private certificate, set tls_ca_file to it"
            )
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
