"""The connection registry: a connection's URL is checked when it is added, stored encrypted
(the password is nowhere in the database) and shown masked; each user sees their own and the
shared ones, never another user's; sharing and database files (SQLite, DuckDB) are for
admins; a turn gets only the connections its conversation's owner may use, on every kind of
database; every call a turn makes is audited."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from sandbox_analyst.agent.tools import DatabaseToolError
from sandbox_analyst.config import Settings
from sandbox_analyst.service import (
    ConnectionCreate,
    Forbidden,
    NotFound,
    Principal,
    Services,
    ValidationError,
)
from sandbox_analyst.service.secret_cipher import KEY_FILE_NAME, SecretCipher
from tests.fixtures.databases import PG_PASSWORD, shop_duckdb


def spec(name: str, url: str, **fields: object) -> ConnectionCreate:
    return ConnectionCreate(name=name, url=url, **fields)


async def stored_text(services: Services) -> str:
    """Every value of every connection row, as the database holds it."""
    async with services.db.session() as session:
        rows = (await session.execute(text("SELECT * FROM database_connections"))).all()
    return " ".join(str(value) for row in rows for value in row)


async def test_the_url_is_stored_encrypted_and_shown_masked(
    services: Services, alice: Principal, postgres_url: str, settings
) -> None:
    record = await services.connections.create(alice, spec("shop", postgres_url))

    assert PG_PASSWORD not in await stored_text(services)
    assert PG_PASSWORD not in record.url_masked
    assert "***" in record.url_masked
    assert record.dialect == "postgresql"
    key = settings.data_dir / KEY_FILE_NAME
    assert key.stat().st_mode & 0o777 == 0o600
    check = await services.connections.test(alice, "shop")
    assert check.ok, check.detail
    assert check.detail.startswith("postgresql ")


async def test_a_configured_key_is_used_and_another_key_cannot_read_the_urls(
    settings, alice: Principal, sqlite_url: str, root: Principal
) -> None:
    from cryptography.fernet import Fernet

    from sandbox_analyst.service.connections import ConnectionService

    first = Settings(
        data_dir=settings.data_dir.parent / "configured",
        database_url=settings.database_url,
        connections={"key": Fernet.generate_key().decode()},
    )
    async with Services.running(first) as services:
        await services.connections.create(root, spec("shop", sqlite_url, shared=True))
        assert not (first.data_dir / KEY_FILE_NAME).exists()
        # The generated key: not the same.
        other = ConnectionService(services.db, settings, SecretCipher.from_settings(settings))
        record = await services.connections.get(alice, "shop")
        with pytest.raises(DatabaseToolError) as caught:
            other.database_of(record)
        assert caught.value.name == "ConnectionUnavailable"


async def test_each_user_sees_their_own_and_the_shared_connections(
    services: Services, alice: Principal, bob: Principal, root: Principal, sqlite_url: str
) -> None:
    mine = await services.connections.create(
        root, spec("alices", sqlite_url), owner_id=alice.user_id
    )
    shared = await services.connections.create(root, spec("everyones", sqlite_url, shared=True))

    assert [c.name for c in await services.connections.list(alice)] == ["alices", "everyones"]
    assert [c.name for c in await services.connections.list(bob)] == ["everyones"]
    for ref in (mine.id, "alices"):
        with pytest.raises(NotFound):
            await services.connections.get(bob, ref)
        with pytest.raises(NotFound):
            await services.connections.test(bob, ref)
        with pytest.raises(NotFound):
            await services.connections.delete(bob, ref)
    with pytest.raises(Forbidden):
        await services.connections.delete(bob, shared.id)
    await services.connections.delete(alice, "alices")
    assert [c.name for c in await services.connections.list(alice)] == ["everyones"]


async def test_sharing_and_database_files_are_for_admins(
    services: Services, alice: Principal, sqlite_url: str, postgres_url: str
) -> None:
    with pytest.raises(Forbidden) as caught:
        await services.connections.create(alice, spec("shop", sqlite_url))
    assert caught.value.field == "url"
    with pytest.raises(Forbidden) as caught:
        await services.connections.create(alice, spec("shop", postgres_url, shared=True))
    assert caught.value.field == "shared"
    # Refused before the file is looked at: a user learns nothing of the server's files.
    for probe in ("sqlite:////nowhere/x.db", "duckdb:////nowhere/x.duckdb"):
        with pytest.raises(Forbidden) as caught:
            await services.connections.create(alice, spec("probe", probe))
        assert "(SQLite, DuckDB)" in caught.value.message
    assert await services.connections.list(alice) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        (
            "oracle://u:p@db/shop",
            "'oracle' databases are not supported: PostgreSQL, MySQL/MariaDB, SQLite and "
            "DuckDB are",
        ),
        ("mysql://u:p@/shop", "a MySQL/MariaDB URL names a host"),
        ("mysql://u:p@db/shop?local_infile=1", "URL option 'local_infile' is not accepted"),
        ("mariadb+mysqldb://u:p@db/shop?init_command=x", "option 'init_command' is not"),
        ("mysql://u:p@db/shop?ssl=maybe", "the MySQL/MariaDB URL option ssl is true or false"),
        ("sqlite://", "in-memory database has nothing to read"),
        ("duckdb:///:memory:", "in-memory database has nothing to read"),
        ("duckdb:////nowhere/shop.duckdb", "no DuckDB database file at /nowhere/shop.duckdb"),
        ("duckdb:////etc/hostname", "is not a DuckDB database file"),
        ("sqlite:////nowhere/shop.db", "no SQLite database file at /nowhere/shop.db"),
        ("sqlite:////tmp/a\x00b.db", "not a usable file path"),
        ("sqlite:////etc/hostname", "is not a SQLite database file"),
    ],
)
async def test_a_url_that_cannot_be_used_is_refused_without_repeating_it(
    services: Services, root: Principal, url: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await services.connections.create(root, spec("shop", url))
    assert message in caught.value.message
    assert caught.value.field == "url"
    assert ":p@" not in caught.value.message


async def test_the_servers_own_files_cannot_be_opened(
    services: Services, root: Principal, settings, tmp_path: Path
) -> None:
    own = settings.effective_database_url
    if not own.startswith("sqlite"):
        own = f"sqlite:///{settings.data_dir / 'other.db'}"
        sqlite3.connect(settings.data_dir / "other.db").close()
    with pytest.raises(ValidationError) as caught:
        await services.connections.create(root, spec("own", own))
    assert "the server's own database" in caught.value.message
    sqlite3.connect(settings.data_dir / "keys.db").close()
    with pytest.raises(ValidationError) as caught:
        await services.connections.create(
            root, spec("keys", f"sqlite:///{settings.data_dir}/keys.db")
        )
    assert "data directory" in caught.value.message
    shop_duckdb(settings.data_dir / "inside.duckdb")
    with pytest.raises(ValidationError) as caught:
        await services.connections.create(
            root, spec("inside", f"duckdb:///{settings.data_dir}/inside.duckdb")
        )
    assert "data directory" in caught.value.message


async def test_mysql_and_duckdb_urls_are_kept_with_the_driver_that_runs_them(
    services: Services, root: Principal, duckdb_url: str
) -> None:
    record = await services.connections.create(
        root, spec("warehouse", "mariadb://reader:pw-z@db.internal:3307/sales?charset=utf8mb4")
    )
    assert record.dialect == "mysql"
    assert record.url_masked == "mysql+pymysql://reader:***@db.internal:3307/sales?charset=utf8mb4"
    assert "pw-z" not in await stored_text(services)
    local = await services.connections.create(root, spec("local", duckdb_url))
    assert (local.dialect, local.url_masked) == ("duckdb", duckdb_url)
    check = await services.connections.test(root, "local")
    assert check.ok, check.detail
    assert check.detail.startswith("duckdb 1.") or check.detail.startswith("duckdb 2.")


async def test_names_are_unique_per_owner(
    services: Services, root: Principal, alice: Principal, sqlite_url: str
) -> None:
    from sandbox_analyst.service import Conflict

    await services.connections.create(root, spec("shop", sqlite_url), owner_id=alice.user_id)
    with pytest.raises(Conflict):
        await services.connections.create(root, spec("shop", sqlite_url), owner_id=alice.user_id)
    await services.connections.create(root, spec("shop", sqlite_url))  # root's own: fine


async def test_a_turn_gets_only_what_its_conversations_owner_may_use(
    services: Services, alice: Principal, bob: Principal, root: Principal, shop_url: str
) -> None:
    alices = await services.connections.create(
        root, spec("alices", shop_url), owner_id=alice.user_id
    )
    shared = await services.connections.create(root, spec("shared", shop_url, shared=True))

    everything = await services.connections.for_turn(bob.user_id, None, None)
    assert [c.name for c in everything.connections()] == ["shared"]
    # An assistant of alice's naming her connection, used by bob: not his to query.
    named = await services.connections.for_turn(bob.user_id, None, [alices.id, shared.id])
    assert [c.name for c in named.connections()] == ["shared"]
    with pytest.raises(DatabaseToolError) as caught:
        await named.query("alices", "SELECT 1")
    assert caught.value.name == "UnknownConnection"
    only = await services.connections.for_turn(alice.user_id, None, [alices.id])
    assert [c.name for c in only.connections()] == ["alices"]
    assert (await services.connections.for_turn(alice.user_id, None, [])).connections() == []


async def test_an_assistant_may_name_only_connections_its_owner_may_use(
    services: Services, alice: Principal, bob: Principal, root: Principal, sqlite_url: str
) -> None:
    from sandbox_analyst.service import AssistantCreate

    alices = await services.connections.create(
        root, spec("alices", sqlite_url), owner_id=alice.user_id
    )

    with pytest.raises(ValidationError) as caught:
        await services.assistants.create(bob, AssistantCreate(name="a", connections=[alices.id]))
    assert caught.value.field == "connections"
    created = await services.assistants.create(
        alice, AssistantCreate(name="a", connections=[alices.id])
    )
    assert created.connections == [alices.id]


async def test_every_call_of_a_turn_is_in_the_audit_log(
    services: Services, alice: Principal, bob: Principal, root: Principal, shop_url: str
) -> None:
    await services.connections.create(root, spec("shop", shop_url), owner_id=alice.user_id)
    databases = await services.connections.for_turn(alice.user_id, "conv-1", None)

    await databases.tables("shop")
    await databases.describe("shop", "orders")
    answer = await databases.query("shop", "SELECT * FROM numbers")
    for sql in ("DELETE FROM orders", "SELECT nope"):
        with pytest.raises(DatabaseToolError):
            await databases.query("shop", sql)

    assert answer.truncated
    log = await services.connections.queries(alice)
    assert [(e.operation, e.statement, e.outcome, e.rows) for e in reversed(log)] == [
        ("tables", "", "ok", 3),
        ("describe", "orders", "ok", None),
        ("query", "SELECT * FROM numbers", "ok", 1000),
        ("query", "DELETE FROM orders", "refused", None),
        ("query", "SELECT nope", "error", None),
    ]
    assert all(e.conversation_id == "conv-1" and e.connection_name == "shop" for e in log)
    assert "nope" in (log[0].error or "")
    assert await services.connections.queries(bob) == []
    assert len(await services.connections.queries(root)) == 5
