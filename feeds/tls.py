"""TLS contexts for feeds and /metrics: who may connect, and whom we trust.

Clients verify by default: ``client_context`` is the system CA store (or a given CA file)
with certificate and host-name checks on; there is no switch to turn them off. Servers
(``demo-feed``, ``replay``, ``/metrics``) load a certificate chain and its key; TLS 1.2 is
the floor on both sides.

Imports: the standard library.
"""

from __future__ import annotations

import ssl
from pathlib import Path


class TLSConfigError(ValueError):
    """A certificate, key or CA file could not be loaded (names the file)."""


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """A verifying client context: the system CA store, or only ``ca_file`` when given.

    Raises:
        TLSConfigError: when ``ca_file`` cannot be read or holds no certificate.
    """
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as error:
        raise TLSConfigError(f"{ca_file}: cannot load CA file: {error}") from error
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context from a PEM certificate chain and its private key.

    Raises:
        TLSConfigError: when either file cannot be read or they do not match.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert_file), str(key_file))
    except (OSError, ssl.SSLError) as error:
        raise TLSConfigError(
            f"{cert_file}, {key_file}: cannot load certificate: {error}"
        ) from error
    return context
