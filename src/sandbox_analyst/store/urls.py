"""User-facing database URLs (`sqlite:///...`, `postgresql://...`) mapped to the drivers we
run with, in one place: aiosqlite / async psycopg in the request path, the synchronous
drivers for migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


class UnsupportedDatabase(ValueError):
    """The URL names a database we do not support."""


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return "postgresql"
    if backend == "sqlite":
        return "sqlite"
    raise UnsupportedDatabase(
        f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://..."
    )


def async_url(url: str) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername=_ASYNC_DRIVERS[_backend(parsed)])


def sync_url(url: str) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername=_SYNC_DRIVERS[_backend(parsed)])


def is_sqlite(url: str) -> bool:
    return _backend(make_url(url)) == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for in-memory databases and other backends."""
    parsed = make_url(url)
    if _backend(parsed) != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)
