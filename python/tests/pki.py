"""Certificates and a token signing key made at test time with the openssl command."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True, input=stdin).stdout


class Pki:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an RSA key that signs tokens."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="twopc-py-pki-")
        self.ca_file, ca_key = self.path("ca.pem"), self.path("ca.key")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", self.ca_file,
                 "-days", "2", "-subj", "/CN=twopc test CA")
        self.server = self._issue("server", "subjectAltName=IP:127.0.0.1,DNS:localhost", ca_key)
        self.client = self._issue("client", "subjectAltName=URI:spiffe://twopc.test/py-client", ca_key)
        self.token_key = self.path("token.key")
        _openssl("genrsa", "-out", self.token_key, "2048")
        self.token_public = self.path("token.pub")
        _openssl("rsa", "-in", self.token_key, "-pubout", "-out", self.token_public)
        self.identities = self.path("identities.json")
        with open(self.identities, "w") as f:
            json.dump({"principals": {"spiffe://twopc.test/py-client": {"roles": ["client", "operator"]}}}, f)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _issue(self, name: str, san: str, ca_key: str) -> tuple[str, str]:
        key, csr, cert, ext = (self.path(f"{name}.{x}") for x in ("key", "csr", "pem", "ext"))
        with open(ext, "w") as f:
            f.write(san + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                 "-days", "2", "-extfile", ext)
        return cert, key

    def token(self, subject: str, roles: list[str], audience: str = "twopc", expires_in_s: int = 300) -> str:
        """An RS256 JWT signed with the token key."""

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        claims = b64(json.dumps({"sub": subject, "iss": "twopc-py-tests", "aud": audience, "iat": now, "exp": now + expires_in_s, "roles": roles}).encode())
        signature = _openssl("dgst", "-sha256", "-sign", self.token_key, stdin=f"{header}.{claims}".encode())
        return f"{header}.{claims}.{b64(signature)}"
