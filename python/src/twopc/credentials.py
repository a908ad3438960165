"""TLS, mutual TLS and bearer tokens, as the TypeScript SDK does them."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Union

import grpc

TokenSource = Union[str, Callable[[], str]]
"""A bearer token, or a function giving the current one (called per call: refresh there)."""


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """PEM files of one side of a link.

    A client checks the server against ``ca_file`` (the system's roots when
    None) and presents ``cert_file``/``key_file`` for mutual TLS. A server
    serves ``cert_file``/``key_file`` and, with ``ca_file``, requires client
    certificates signed by it.
    """

    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("TLS: give both cert_file and key_file, or neither")


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


class _BearerToken(grpc.AuthMetadataPlugin):  # type: ignore[misc]  # grpc ships no type stubs
    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def __call__(self, context: object, callback: Callable[..., None]) -> None:
        try:
            token = self._source if isinstance(self._source, str) else self._source()
        except Exception as err:  # the token source failed: the call fails with its error
            callback((), err)
            return
        callback((("authorization", f"Bearer {token}"),), None)


def channel_credentials(
    tls: Optional[TlsFiles] = None, token: Optional[TokenSource] = None
) -> Optional[grpc.ChannelCredentials]:
    """Credentials for a channel to the coordinator, or None for plaintext.

    :raises ValueError: for a token without TLS (a bearer token is sent only over TLS)
    :raises OSError: when a TLS file cannot be read
    """
    if tls is None:
        if token is not None:
            raise ValueError(
                "a bearer token is sent only over TLS: give tls=TlsFiles(ca_file=...) "
                "(and cert_file/key_file for mutual TLS)"
            )
        return None
    creds: grpc.ChannelCredentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca_file),
        private_key=_read(tls.key_file),
        certificate_chain=_read(tls.cert_file),
    )
    if token is not None:
        creds = grpc.composite_channel_credentials(creds, grpc.metadata_call_credentials(_BearerToken(token)))
    return creds


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """A participant server's credentials; with ``ca_file`` callers must present a certificate it signed.

    :raises ValueError: without a certificate and key
    """
    cert, key = _read(tls.cert_file), _read(tls.key_file)
    if cert is None or key is None:
        raise ValueError("serving TLS needs cert_file and key_file")
    ca = _read(tls.ca_file)
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)
