"""Who calls LibreChat's Code API.

Two ways, as LibreChat itself authenticates: one of our API keys in `X-API-Key` (LibreChat's
`LIBRECHAT_CODE_API_KEY`; also accepted as a Bearer token), or LibreChat's own short-lived JWT
in `Authorization: Bearer` (signed with LibreChat's private key; `iss` librechat, `aud`
codeapi), verified against the public key in `librechat.jwt_public_key`. A JWT caller acts as
the user `librechat.jwt_user` of ours, and as the LibreChat user its `sub` names within.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, Request

from sandbox_analyst.config import ConfigError, LibreChatSettings
from sandbox_analyst.service import Principal, Services, Unauthorized
from sandbox_analyst.service.librechat import LibreChatCaller

_ALGORITHMS = ["EdDSA", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_API_KEY_PREFIX = "sa_"
MAX_SUBJECT = 255


def services(request: Request) -> Services:
    return request.app.state.services


async def caller(request: Request) -> LibreChatCaller:
    key = request.headers.get("x-api-key", "").strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else ""
    found = services(request)
    if key:
        return LibreChatCaller(await found.users.authenticate(key))
    if bearer.startswith(_API_KEY_PREFIX):
        return LibreChatCaller(await found.users.authenticate(bearer))
    if bearer:
        return await _jwt_caller(found, bearer)
    local: Principal | None = request.app.state.local_principal
    if local is not None:
        return LibreChatCaller(local)
    raise Unauthorized("authentication required: send X-API-Key (one of this server's keys)")


async def _jwt_caller(found: Services, token: str) -> LibreChatCaller:
    settings = found.settings.librechat
    if settings.jwt_public_key is None or settings.jwt_user is None:
        raise Unauthorized(
            "this server verifies no LibreChat JWTs (librechat.jwt_public_key and "
            "librechat.jwt_user are unset): send X-API-Key"
        )
    claims = verify_jwt(token, settings)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT:
        raise Unauthorized("the token names no user (`sub`)")
    tenant = claims.get("tenant_id")
    if isinstance(tenant, str) and tenant:
        subject = f"{tenant}:{subject}"[:MAX_SUBJECT]
    user = await found.users.get_user(settings.jwt_user)
    return LibreChatCaller(Principal(user.id, user.name, user.is_admin), subject=subject)


def verify_jwt(token: str, settings: LibreChatSettings) -> dict[str, Any]:
    """The claims of a token LibreChat signed; Unauthorized for any other token."""
    try:
        return jwt.decode(
            token,
            _public_key(settings.jwt_public_key or ""),
            algorithms=_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None


@functools.lru_cache(maxsize=4)
def _public_key(value: str) -> Any:
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"librechat.jwt_public_key: no PEM key and no file {text!r}")
        text = path.read_text()
    try:
        return load_pem_public_key(text.encode())
    except ValueError as exc:
        raise ConfigError(f"librechat.jwt_public_key is not a PEM public key: {exc}") from None


Caller = Annotated[LibreChatCaller, Depends(caller)]
ServicesDep = Annotated[Services, Depends(services)]
