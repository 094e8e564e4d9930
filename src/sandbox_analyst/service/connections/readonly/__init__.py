"""Read-only sessions on a connection's database, enforced by the database itself and never
by looking at the SQL: `ReadOnlyDatabase`, one module per kind of database saying how it is
kept read-only, within the statement timeout and the row limit (`Limits`)."""

from sandbox_analyst.service.connections.readonly.database import ReadOnlyDatabase
from sandbox_analyst.service.connections.readonly.session import READ_ONLY_HINT, Limits

__all__ = ["READ_ONLY_HINT", "Limits", "ReadOnlyDatabase"]
