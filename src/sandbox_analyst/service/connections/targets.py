"""What a connection's URL names: a PostgreSQL server (through psycopg), a MySQL or MariaDB
server (through PyMySQL), or a SQLite or DuckDB file; checked when it is added, with what is
shown of it (the password masked). Any driver named for PostgreSQL or MySQL is replaced by the
one this server runs its read-only sessions with.

Refused, each with a clear error: other databases (read-only enforcement is per database),
in-memory databases, the server's own database or a file inside its data directory (its
keys), and MySQL URL options other than the few that cannot weaken the session (others could
turn on `LOCAL INFILE`, which lets the database server read this server's files, or send
several statements at once)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sandbox_analyst.service.errors import ValidationError

EXAMPLES = (
    "e.g. postgresql://user:password@host:5432/db, mysql://user:password@host:3306/db, "
    "sqlite:////path/to/file.db or duckdb:////path/to/file.duckdb"
)
SUPPORTED = "PostgreSQL, MySQL/MariaDB, SQLite and DuckDB"
FILE_DIALECTS = frozenset({"sqlite", "duckdb"})
_POSTGRES = {"postgresql", "postgres", "psql", "pgsql"}
_MYSQL = {"mysql", "mariadb"}
# The character set, and `ssl=true` (TLS, the certificate checked against the system's
# certificate authorities and the host name): nothing that names a file on this server or
# changes what the session may do.
MYSQL_OPTIONS = frozenset({"charset", "ssl"})
_FILE_HEADERS = {
    "sqlite": (0, b"SQLite format 3\x00", "SQLite"),
    "duckdb": (8, b"DUCK", "DuckDB"),
}


@dataclass(frozen=True)
class SupportedDatabase:
    kind: str  # what people call it
    urls: str  # the URL's form
    driver: str  # what runs its sessions, and its version


def supported_databases() -> list[SupportedDatabase]:
    """What a connection may name, and the driver (installed) that reads it."""
    return [
        SupportedDatabase(
            "PostgreSQL", "postgresql://user:password@host:5432/db", f"psycopg {version('psycopg')}"
        ),
        SupportedDatabase(
            "MySQL/MariaDB",
            "mysql:// or mariadb://user:password@host:3306/db",
            f"PyMySQL {version('PyMySQL')}",
        ),
        SupportedDatabase(
            "SQLite",
            "sqlite:////path/file.db",
            f"Python's sqlite3, SQLite {sqlite3.sqlite_version}",
        ),
        SupportedDatabase("DuckDB", "duckdb:////path/file.duckdb", f"duckdb {version('duckdb')}"),
    ]


class ConnectionUrlError(ValidationError):
    """The URL cannot be used. Its message never repeats the URL (it may hold a password)."""

    code = "invalid_connection_url"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


@dataclass(frozen=True)
class Target:
    dialect: str  # postgresql, mysql, sqlite, duckdb
    url: URL

    @property
    def masked(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def password(self) -> str | None:
        return self.url.password if self.url.password else None

    @property
    def file(self) -> Path | None:
        if self.dialect in FILE_DIALECTS and self.url.database:
            return Path(self.url.database)
        return None


def _parsed(text: str) -> tuple[str, URL]:
    try:
        url = make_url(text.strip())
    except (ArgumentError, ValueError):
        raise ConnectionUrlError(f"not a database URL ({EXAMPLES})") from None
    backend = url.get_backend_name()
    if backend in _POSTGRES:
        return "postgresql", url
    if backend in _MYSQL:
        return "mysql", url
    if backend in FILE_DIALECTS:
        return backend, url
    raise ConnectionUrlError(
        f"{backend!r} databases are not supported: {SUPPORTED} are ({EXAMPLES})"
    )


def dialect_of(text: str) -> str:
    """Which supported database `text` names, looking at nothing else (no file, no server):
    what decides who may add it. `ConnectionUrlError` for anything else."""
    return _parsed(text)[0]


def parse_target(text: str, *, protected: tuple[Path, ...] = ()) -> Target:
    """The target `text` names; `ConnectionUrlError` when it cannot be used. `protected`:
    files and directories no connection may open (the data directory, the server's own
    database)."""
    dialect, url = _parsed(text)
    if dialect == "postgresql":
        if not url.database and not url.host:
            raise ConnectionUrlError(f"a PostgreSQL URL names a host and a database ({EXAMPLES})")
        return Target("postgresql", url.set(drivername="postgresql+psycopg"))
    if dialect == "mysql":
        return Target("mysql", _mysql_url(url))
    return Target(dialect, _file_url(dialect, url, protected))


def _mysql_url(url: URL) -> URL:
    if not url.host:
        raise ConnectionUrlError(f"a MySQL/MariaDB URL names a host ({EXAMPLES})")
    unknown = sorted(set(url.query) - MYSQL_OPTIONS)
    if str(url.query.get("ssl", "false")).lower() not in {"true", "false"}:
        raise ConnectionUrlError("the MySQL/MariaDB URL option ssl is true or false")
    if unknown:
        raise ConnectionUrlError(
            f"the MySQL/MariaDB URL option {unknown[0]!r} is not accepted (only "
            f"{', '.join(sorted(MYSQL_OPTIONS))}): the session's settings are this server's"
        )
    return url.set(drivername="mysql+pymysql")


def _file_url(dialect: str, url: URL, protected: tuple[Path, ...]) -> URL:
    offset, magic, kind = _FILE_HEADERS[dialect]
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise ConnectionUrlError(
            f"a {kind} connection names a database file by its path "
            f"({dialect}:////absolute/path/file); an in-memory database has nothing to read"
        )
    try:
        path = Path(url.database).expanduser().resolve()
        found = path.is_file()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a loop of links...
        raise ConnectionUrlError("that is not a usable file path") from None
    if not found:
        raise ConnectionUrlError(f"no {kind} database file at {path}")
    if any(path.is_relative_to(place.resolve()) for place in protected):
        raise ConnectionUrlError(
            "that file is the server's own database, or in its data directory (its "
            "database and keys), which connections may not open"
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(offset + len(magic))
    except OSError as exc:
        raise ConnectionUrlError(f"cannot read {path}: {exc.strerror}") from None
    if header and header[offset:] != magic:
        raise ConnectionUrlError(f"{path} is not a {kind} database file")
    return URL.create(dialect, database=str(path))
