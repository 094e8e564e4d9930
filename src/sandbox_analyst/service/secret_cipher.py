"""The key that encrypts secrets at rest: database connections' URLs, assistants' secret
environment variables (Fernet: AES-128-CBC with an HMAC, from the `cryptography` package). The
key comes from `connections.key` in the settings, or is generated once into
`<data_dir>/connections.key` (mode 0600, outside every sandbox: the data directory is hidden
from sessions). Without the key the stored secrets cannot be read back."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from sandbox_analyst.config import ConfigError, Settings
from sandbox_analyst.service.key_files import read_or_create

KEY_FILE_NAME = "connections.key"


class UndecryptableSecret(Exception):
    """A stored secret that this key cannot decrypt (the key changed since it was stored)."""


def load_or_create_key(data_dir: Path) -> bytes:
    """The generated key, created on first use."""
    return read_or_create(data_dir / KEY_FILE_NAME, Fernet.generate_key).strip()


class SecretCipher:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                "connections.key must be a Fernet key: 32 url-safe base64-encoded bytes "
                '(python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())")'
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretCipher:
        key = settings.connections.key
        if key is not None:
            return cls(key.get_secret_value().encode())
        return cls(load_or_create_key(settings.data_dir))

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise UndecryptableSecret(
                "it was encrypted with another key (connections.key changed?)"
            ) from exc
