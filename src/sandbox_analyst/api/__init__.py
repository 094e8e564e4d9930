"""The HTTP front door: the FastAPI app factory, authentication, routers, error mapping, and
the whole server embedded in a command's event loop (`embedded_server`).

Names are imported on first use (PEP 562): `analyst serve` checks its options and binds its port
before the web framework, the ORM and the LLM SDKs are imported (see `api.starting`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox_analyst.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from sandbox_analyst.api.app import create_app
    from sandbox_analyst.api.embedded import EmbeddedServer, embedded_server
    from sandbox_analyst.api.single_user import SingleUserRefused, check_single_user, is_loopback

# Exported name -> the module that defines it.
_EXPORTS = {
    "EmbeddedServer": "sandbox_analyst.api.embedded",
    "embedded_server": "sandbox_analyst.api.embedded",
    "SingleUserRefused": "sandbox_analyst.api.single_user",
    "check_single_user": "sandbox_analyst.api.single_user",
    "create_app": "sandbox_analyst.api.app",
    "is_loopback": "sandbox_analyst.api.single_user",
}

__all__ = [
    "EmbeddedServer",
    "SingleUserRefused",
    "check_single_user",
    "create_app",
    "embedded_server",
    "is_loopback",
]


__getattr__, __dir__ = _lazy_exports(globals(), _EXPORTS)
