"""LibreChat's Code API on the real app (a fresh database per test) and the session's real
sandboxes; LibreChat's JWTs signed with an Ed25519 key made for the test run."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import Services

BASE = "/librechat/v1"
JWT_USER = "librechat"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public_pem: str

    def token(self, sub: str = "lc-user-1", **claims: object) -> str:
        now = int(time.time())
        body = {
            "iss": "librechat",
            "aud": "codeapi",
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "role": "USER",
            **claims,
        }
        return jwt.encode(body, self.private, algorithm="EdDSA")


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(private, pem.decode())


@pytest.fixture
def app_settings(settings: Settings, signing_key: SigningKey) -> Settings:
    return settings.model_copy(
        update={
            "librechat": settings.librechat.model_copy(
                update={"jwt_public_key": signing_key.public_pem, "jwt_user": JWT_USER}
            )
        }
    )


@pytest.fixture
def app_sessions(sandbox_sessions: SessionManager) -> SessionManager:
    return sandbox_sessions


@dataclass(frozen=True)
class Keys:
    alice: str
    bob: str


@pytest_asyncio.fixture(loop_scope="session")
async def keys(services: Services) -> Keys:
    made = {}
    for name in ("alice", "bob", JWT_USER):
        user = await services.users.create_user(name)
        made[name] = (await services.users.create_key(user.id)).secret
    return Keys(made["alice"], made["bob"])
