"""What a connection's URL names: a PostgreSQL server (through psycopg) or a SQLite file;
checked when it is added, with what is shown of it (the password masked). Any driver named
for PostgreSQL is replaced by psycopg, the one this server runs its read-only sessions with.

Not supported, each with a clear error: MySQL/MariaDB (no driver is installed, and the
read-only session setup is PostgreSQL's and SQLite's), DuckDB (its SQLAlchemy dialect,
`duckdb-engine`, is not installed), in-memory databases, and the server's own database or a file
inside its data directory (its keys)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sandbox_analyst.service.errors import ValidationError

EXAMPLES = "e.g. postgresql://user:password@host:5432/db or sqlite:////path/to/file.db"
_POSTGRES = {"postgresql", "postgres", "psql", "pgsql"}
_UNSUPPORTED = {
    "mysql": "MySQL/MariaDB connections are not supported yet: no MySQL driver is installed "
    "and their read-only session setup is not built",
    "mariadb": "MySQL/MariaDB connections are not supported yet: no MySQL driver is "
    "installed and their read-only session setup is not built",
    "duckdb": "DuckDB connections are not supported yet (its SQLAlchemy dialect, "
    "duckdb-engine, is not installed); query DuckDB files in the sandbox with execute_code",
}


class ConnectionUrlError(ValidationError):
    """The URL cannot be used. Its message never repeats the URL (it may hold a password)."""

    code = "invalid_connection_url"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


@dataclass(frozen=True)
class Target:
    dialect: str  # postgresql, sqlite
    url: URL

    @property
    def masked(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def password(self) -> str | None:
        return self.url.password if self.url.password else None

    @property
    def file(self) -> Path | None:
        return Path(self.url.database) if self.dialect == "sqlite" and self.url.database else None


def _parsed(text: str) -> tuple[str, URL]:
    try:
        url = make_url(text.strip())
    except (ArgumentError, ValueError):
        raise ConnectionUrlError(f"not a database URL ({EXAMPLES})") from None
    backend = url.get_backend_name()
    if backend in _POSTGRES:
        return "postgresql", url
    if backend == "sqlite":
        return "sqlite", url
    if backend in _UNSUPPORTED:
        raise ConnectionUrlError(_UNSUPPORTED[backend])
    raise ConnectionUrlError(
        f"{backend!r} databases are not supported: PostgreSQL and SQLite are ({EXAMPLES})"
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
    return Target("sqlite", _sqlite_url(url, protected))


def _sqlite_url(url: URL, protected: tuple[Path, ...]) -> URL:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise ConnectionUrlError(
            "a SQLite connection names a database file by its path "
            "(sqlite:////absolute/path/file.db); an in-memory database has nothing to read"
        )
    try:
        path = Path(url.database).expanduser().resolve()
        found = path.is_file()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a loop of links...
        raise ConnectionUrlError("that is not a usable file path") from None
    if not found:
        raise ConnectionUrlError(f"no SQLite database file at {path}")
    if any(path.is_relative_to(place.resolve()) for place in protected):
        raise ConnectionUrlError(
            "that file is the server's own database, or in its data directory (its "
            "database and keys), which connections may not open"
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise ConnectionUrlError(f"cannot read {path}: {exc.strerror}") from None
    if header and header != b"SQLite format 3\x00":
        raise ConnectionUrlError(f"{path} is not a SQLite database file")
    return URL.create("sqlite", database=str(path))
