"""Database connections the agent queries read-only: their registry with encrypted URLs
(`service.py`), what a URL may name (`targets.py`), the key (`cipher.py`) and the read-only
sessions that run the queries (`readonly.py`)."""

from sandbox_analyst.service.connections.cipher import KEY_FILE_NAME, ConnectionCipher
from sandbox_analyst.service.connections.readonly import Limits, ReadOnlyDatabase
from sandbox_analyst.service.connections.service import (
    ConnectionCheck,
    ConnectionCreate,
    ConnectionName,
    ConnectionService,
    TurnDatabases,
)
from sandbox_analyst.service.connections.targets import ConnectionUrlError, Target, parse_target

__all__ = [
    "KEY_FILE_NAME",
    "ConnectionCheck",
    "ConnectionCipher",
    "ConnectionCreate",
    "ConnectionName",
    "ConnectionService",
    "ConnectionUrlError",
    "Limits",
    "ReadOnlyDatabase",
    "Target",
    "TurnDatabases",
    "parse_target",
]
