"""The schema at start-up: brought to the newest revision, quickly when there is nothing to do.

The Alembic scripts live inside the package so they ship in the wheel. Most starts find one of
two databases, and neither needs Alembic, whose import and scripts cost a few tenths
of a second before a server or `analyst chat` can answer:
- one already at `HEAD_REVISION`: nothing to do;
- an empty one (a new data directory): the tables are created from the models and stamped at
  `HEAD_REVISION`, as Alembic's own "create from scratch, then stamp" recipe does (the tests
  hold the two schemas equal, and `HEAD_REVISION` equal to the scripts' head).
Anything else (a database at an older revision) runs the scripts.

Two processes starting at once are serialised: a PostgreSQL advisory lock, or a lock file next
to the SQLite database.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from sandbox_analyst.store.models import Base
from sandbox_analyst.store.urls import is_sqlite, sqlite_path, sync_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest script's revision; a new script must change this too (a test says so).
HEAD_REVISION = "0020"
# Any fixed number: the key of the advisory lock every starting process takes.
_PG_LOCK_KEY = 0x5A4E_A1C7

# Alembic's own bookkeeping table, as Alembic creates it.
_VERSIONS = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

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
    _migrate(url, _to_head)


def run_migrations(url: str) -> None:
    """Bring the schema at `url` to the newest revision by running the Alembic scripts, even
    on an empty database (how an existing deployment's schema got where it is)."""
    _migrate(url, _run_scripts)


def _migrate(url: str, step: Callable[[Connection], None]) -> None:
    engine = create_engine(sync_url(url))
    if is_sqlite(url):
        event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=ON"))
    try:
        path = sqlite_path(url)
        if path is not None:
            with _file_lock(path.with_name(path.name + ".migrate-lock")), engine.begin() as conn:
                step(conn)
        else:
            with engine.begin() as conn:
                if not is_sqlite(url):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                step(conn)
    finally:
        engine.dispose()


def _to_head(conn: Connection) -> None:
    tables = inspect(conn).get_table_names()
    if not tables:
        Base.metadata.create_all(conn)
        _VERSIONS.create(conn)
        conn.execute(_VERSIONS.insert().values(version_num=HEAD_REVISION))
    elif _VERSIONS.name not in tables or _revisions(conn) != [HEAD_REVISION]:
        _run_scripts(conn)


def _revisions(conn: Connection) -> list[str]:
    return list(conn.scalars(select(_VERSIONS.c.version_num)))


def _run_scripts(conn: Connection) -> None:
    from alembic import command  # imported only when a script must run: see the docstring

    command.upgrade(alembic_config(conn), "head")
