"""Alembic migrations, run programmatically (`upgrade head`) at start-up.

The scripts live inside the package so they ship in the wheel. Two processes starting at
once are serialised: a PostgreSQL advisory lock, or a lock file next to the SQLite database.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection

from sandbox_analyst.store.urls import is_sqlite, sqlite_path, sync_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: the key of the advisory lock every starting process takes.
_PG_LOCK_KEY = 0x5A4E_A1C7


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade_to_head(url: str) -> None:
    """Bring the schema at `url` to the newest revision; a no-op when it already is."""
    engine = create_engine(sync_url(url))
    if is_sqlite(url):
        event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=ON"))
    try:
        path = sqlite_path(url)
        if path is not None:
            with _file_lock(path.with_name(path.name + ".migrate-lock")), engine.begin() as conn:
                command.upgrade(alembic_config(conn), "head")
        else:
            with engine.begin() as conn:
                if not is_sqlite(url):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                command.upgrade(alembic_config(conn), "head")
    finally:
        engine.dispose()
