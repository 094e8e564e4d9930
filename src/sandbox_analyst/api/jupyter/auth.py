"""Who calls the Jupyter subset: a Jupyter server's token, which here is one of our API keys,
sent as `?token=KEY` (what Open WebUI does, on every request and the websocket too), as
`Authorization: token KEY` (jupyter_client, JupyterLab) or as `Authorization: Bearer KEY`. In
single-user mode on a loopback address no token is needed, as on the rest of the API."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from sandbox_analyst.service import Principal, Services, Unauthorized


async def jupyter_principal(connection: HTTPConnection) -> Principal:
    services: Services = connection.app.state.services
    token = connection.query_params.get("token") or _header_token(connection)
    if token:
        return await services.users.authenticate(token)
    local: Principal | None = getattr(connection.app.state, "local_principal", None)
    if local is None:
        raise Unauthorized(
            "authentication required: pass an API key as ?token=KEY or `Authorization: token KEY`"
        )
    return local


def _header_token(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and credentials.strip():
        return credentials.strip()
    return None
