"""Which sandbox, and which of its services, a request is for.

E2B's SDKs send every request to a sandbox to one URL (`E2B_SANDBOX_URL`) with the headers
`E2b-Sandbox-Id` and `E2b-Sandbox-Port` (49983: envd, files and commands; 49999: the code
interpreter). Behind a wildcard reverse proxy (`E2B_DOMAIN`) the same is in the host name:
`<port>-<sandbox id>.<domain>`. Headers win; the host name is the fallback (plain URLs such
as a browser's download link carry no headers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import HTTPConnection

ENVD_PORT = 49983
INTERPRETER_PORT = 49999
_HOST = re.compile(r"^(?P<port>\d{1,5})-(?P<id>[a-z0-9]{1,64})\.")


@dataclass(frozen=True)
class SandboxTarget:
    sandbox_id: str
    port: int


def sandbox_target(request: HTTPConnection) -> SandboxTarget | None:
    sandbox_id = request.headers.get("e2b-sandbox-id")
    port = request.headers.get("e2b-sandbox-port")
    if sandbox_id:
        return SandboxTarget(sandbox_id, int(port) if port and port.isdigit() else ENVD_PORT)
    match = _HOST.match(request.headers.get("host", "").lower())
    if match is None:
        return None
    return SandboxTarget(match["id"], int(match["port"]))


def access_token(request: HTTPConnection) -> str | None:
    """The sandbox access token: `X-Access-Token` (envd), `E2B-Traffic-Access-Token` (the
    code interpreter's context calls send only that one)."""
    return request.headers.get("x-access-token") or request.headers.get("e2b-traffic-access-token")
