"""Signed, expiring download links for files.

`<img>` tags in the web UI and third-party chat front ends cannot send our Bearer header, so
`GET /api/files/{id}/content` also accepts `?sig=EXPIRES.MAC`, where MAC is an HMAC-SHA256
over the file id and expiry with a server secret. Only someone who may read the file can get
a link (the service checks before signing); a link names one file and stops working after
its expiry. The secret is created once in the data directory (mode 0600) and survives restarts,
so links stay valid across them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path

from sandbox_analyst.service.key_files import read_or_create

SECRET_FILE_NAME = "secret.key"


def load_or_create_secret(data_dir: Path) -> bytes:
    """The server secret, created on first use."""
    path = data_dir / SECRET_FILE_NAME
    return bytes.fromhex(read_or_create(path, lambda: secrets.token_hex(32).encode()).decode())


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, file_id: str, expires: int) -> str:
        message = f"file:{file_id}:{expires}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, file_id: str, expires: int) -> str:
        return f"{expires}.{self._mac(file_id, expires)}"

    def verify(self, file_id: str, token: str, *, now: float | None = None) -> bool:
        expires_text, _, mac = token.partition(".")
        if not expires_text.isdigit() or len(expires_text) > 12:
            return False
        expires = int(expires_text)
        if expires < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(mac, self._mac(file_id, expires))
