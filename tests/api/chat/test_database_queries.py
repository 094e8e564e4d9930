"""The agent on a database, in a real chat: it lists the tables, queries with SQL (the rows land
in the sandbox as a DataFrame and a Parquet file, the observation shows the first rows) and
analyses the DataFrame with execute_code; a write is refused and the model is told why; the
connection's credential is nowhere the sandbox can look; only the conversation owner's
connections are offered."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import ConnectionCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import make_chatter
from tests.fixtures.databases import PG_PASSWORD
from tests.fixtures.mariadb import MARIADB_PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOIN = (
    "SELECT c.region, count(*) AS orders, sum(o.amount) AS total FROM orders o "
    "JOIN customers c ON c.id = o.customer_id GROUP BY c.region ORDER BY c.region"
)


async def give_connection(services: Services, owner: str, url: str, name: str = "shop") -> str:
    """An admin registers `url` for `owner` (SQLite files are an admin's to add)."""
    admin = await services.users.create_user(f"admin-{owner}", admin=True)
    user = await services.users.get_user(owner)
    record = await services.connections.create(
        Principal(admin.id, admin.name, is_admin=True),
        ConnectionCreate(name=name, url=url, description="a small shop"),
        owner_id=user.id,
    )
    return record.id


def observations(fake: FakeLLMServer) -> list[str]:
    return [last_tool_result(request.json or {}) or "" for request in fake.model_requests]


def offered(fake: FakeLLMServer, index: int = 0) -> dict[str, dict]:
    tools = fake.model_requests[index].json["tools"]
    return {tool["function"]["name"]: tool["function"] for tool in tools}


async def test_the_agent_queries_a_database_then_analyses_the_dataframe(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient, shop_url: str
) -> None:
    alice = await make_chatter(services, client, "alice")
    await give_connection(services, "alice", shop_url)
    fake.add_turns(
        Turn(tool_calls=[("list_tables", {"connection": "shop"})]),
        Turn(
            tool_calls=[
                ("query_database", {"connection": "shop", "sql": JOIN, "name": "by region"})
            ]
        ),
        Turn(
            tool_calls=[
                (
                    "execute_code",
                    {
                        "code": "import pandas as pd\n"
                        "print(float(df_by_region['total'].sum()), "
                        "len(pd.read_parquet('by_region.parquet')))"
                    },
                )
            ]
        ),
        Turn(text="North leads with 16.25."),
    )

    reply = await alice.ask("Which region sells most?")

    assert [result["success"] for result in reply.of("tool_result")] == [True, True, True]
    assert reply.end["status"] == "complete"
    seen = observations(fake)
    assert "customers\nnumbers\norders" in seen[1]
    queried = seen[2]
    assert "2 rows -> DataFrame df_by_region (file by_region.parquet)" in queried
    assert "- region:" in queried
    assert "- total:" in queried
    assert "north" in queried
    assert "16.25" in queried
    assert "23.25 2" in reply.stdout
    tools = offered(fake)
    assert {"list_tables", "describe_table", "query_database"} <= set(tools)
    connection = tools["query_database"]["parameters"]["properties"]["connection"]
    assert connection["enum"] == ["shop"]
    assert "a small shop" in connection["description"]
    log = await services.connections.queries(Principal("audit", "audit", is_admin=True))
    assert [(entry.operation, entry.statement, entry.outcome) for entry in reversed(log)] == [
        ("tables", "", "ok"),
        ("query", JOIN, "ok"),
    ]
    assert {entry.conversation_id for entry in log} == {alice.conversation_id}


async def test_a_write_or_bad_sql_is_an_observation_the_model_can_act_on(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient, sqlite_url: str
) -> None:
    alice = await make_chatter(services, client, "alice")
    await give_connection(services, "alice", sqlite_url)
    fake.add_turns(
        Turn(tool_calls=[("query_database", {"connection": "shop", "sql": "DELETE FROM orders"})]),
        Turn(
            tool_calls=[
                ("query_database", {"connection": "shop", "sql": "SELECT amount FROM nope"})
            ]
        ),
        Turn(tool_calls=[("query_database", {"connection": "elsewhere", "sql": "SELECT 1"})]),
        Turn(
            tool_calls=[("query_database", {"connection": "shop", "sql": "SELECT * FROM numbers"})]
        ),
        Turn(text="Done."),
    )

    reply = await alice.ask("Clean up the orders.")

    assert [result["success"] for result in reply.of("tool_result")] == [False, False, False, True]
    refused, bad, unknown, limited = observations(fake)[1:5]
    assert "ReadOnlyViolation: this connection is read-only" in refused
    assert "QueryError: no such table: nope" in bad
    assert "no connection 'elsewhere'; this assistant may use: shop" in unknown
    assert "1,000 of 2,500 rows (truncated at the row limit) -> DataFrame df_shop" in limited
    assert "aggregate or filter in SQL" in limited


@pytest.mark.parametrize(
    ("server", "password"), [("postgres_url", PG_PASSWORD), ("mariadb_url", MARIADB_PASSWORD)]
)
async def test_the_credential_is_nowhere_in_the_sandbox(
    fake: FakeLLMServer,
    services: Services,
    client: httpx.AsyncClient,
    request: pytest.FixtureRequest,
    server: str,
    password: str,
    app_settings,
) -> None:
    alice = await make_chatter(services, client, "alice")
    await give_connection(services, "alice", request.getfixturevalue(server))
    # The code carries the password reversed, so that it is not itself a copy of it.
    search = f"""
import os, pathlib
secret = {password[::-1]!r}[::-1].encode()
in_env = any(secret in f"{{k}}={{v}}".encode() for k, v in os.environ.items())
hits = []
for root in {{pathlib.Path.cwd(), pathlib.Path("/tmp"), pathlib.Path.home()}}:
    for path in root.rglob("*"):
        try:
            if path.is_file() and secret in path.read_bytes():
                hits.append(str(path))
        except OSError:
            pass
key = pathlib.Path({str(app_settings.data_dir / "connections.key")!r})
print("env:", in_env, "files:", hits, "key visible:", key.exists())
"""
    fake.add_turns(
        Turn(
            tool_calls=[("query_database", {"connection": "shop", "sql": "SELECT * FROM orders"})]
        ),
        Turn(tool_calls=[("execute_code", {"code": search})]),
        Turn(text="Nothing."),
    )

    reply = await alice.ask("Look around.")

    assert [result["success"] for result in reply.of("tool_result")] == [True, True]
    assert "env: False files: [] key visible: False" in reply.stdout
    assert password not in str(reply.events)


async def test_only_the_conversation_owners_connections_are_offered(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient, sqlite_url: str
) -> None:
    alice = await make_chatter(services, client, "alice")
    shop = await give_connection(services, "alice", sqlite_url)
    bob = await make_chatter(services, client, "bob")
    none = await make_chatter(services, client, "carol")
    await give_connection(services, "carol", sqlite_url)
    response = await client.patch(
        f"/api/assistants/{none.assistant_id}", json={"connections": []}, headers=none.headers
    )
    assert response.status_code == 200, response.text
    # Bob may not name alice's connection on his assistant.
    response = await client.patch(
        f"/api/assistants/{bob.assistant_id}", json={"connections": [shop]}, headers=bob.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "connections"

    for index, chatter in enumerate((bob, none, alice)):
        fake.add_turns(Turn(text="Hello."))
        await chatter.ask("Hi")
        names = set(offered(fake, index))
        assert ("query_database" in names) == (chatter is alice), names
