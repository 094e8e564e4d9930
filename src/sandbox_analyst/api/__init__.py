"""The HTTP front door: the FastAPI app factory, authentication, routers, error mapping, and
the whole server embedded in a command's event loop (`embedded_server`)."""

from sandbox_analyst.api.app import SingleUserRefused, check_single_user, create_app, is_loopback
from sandbox_analyst.api.embedded import EmbeddedServer, embedded_server

__all__ = [
    "EmbeddedServer",
    "SingleUserRefused",
    "check_single_user",
    "create_app",
    "embedded_server",
    "is_loopback",
]
