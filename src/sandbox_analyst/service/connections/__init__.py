"""Database connections the agent queries read-only: their registry with encrypted URLs
(`service.py`; the key is `service/secret_cipher.py`'s), what a URL may name (`targets.py`)
and the read-only sessions that run the queries (`readonly/`)."""

from sandbox_analyst.service.connections.readonly import Limits, ReadOnlyDatabase
from sandbox_analyst.service.connections.service import (
    ConnectionCheck,
    ConnectionCreate,
    ConnectionName,
    ConnectionService,
    TurnDatabases,
)
from sandbox_analyst.service.connections.targets import (
    ConnectionUrlError,
    SupportedDatabase,
    Target,
    parse_target,
    supported_databases,
)

__all__ = [
    "ConnectionCheck",
    "ConnectionCreate",
    "ConnectionName",
    "ConnectionService",
    "ConnectionUrlError",
    "Limits",
    "ReadOnlyDatabase",
    "SupportedDatabase",
    "Target",
    "TurnDatabases",
    "parse_target",
    "supported_databases",
]
