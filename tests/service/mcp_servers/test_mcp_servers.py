"""The MCP server registry: only admins register, test and remove servers; header and env
values are stored encrypted and never shown; a server's tools are listed over stdio (a real
process) and streamable HTTP (a real server on 127.0.0.1, its headers sent); what goes wrong
when connecting is said plainly; an assistant may name only tools that exist; a turn gets the
allowed tools only, each call logged."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as SpecError
from sqlalchemy import text

from sandbox_analyst.agent.tools import McpToolError
from sandbox_analyst.service import (
    AssistantCreate,
    AssistantUpdate,
    Conflict,
    Forbidden,
    McpServerCreate,
    NotFound,
    Principal,
    Services,
    ValidationError,
)
from sandbox_analyst.service.mcp_servers import Limits
from sandbox_analyst.service.mcp_servers.connection import McpConnection
from tests.fixtures.mcp_servers import http_spec, stdio_spec
from tests.fixtures.mcp_tool_server import TOKEN, serving_tool_server

TOOLS = ["lookup_rate", "draw_square", "fail", "sleep", "show_env"]


async def stored_text(services: Services) -> str:
    async with services.db.session() as session:
        rows = (await session.execute(text("SELECT * FROM mcp_servers"))).all()
    return " ".join(str(value) for row in rows for value in row)


async def test_only_an_admin_registers_tests_or_removes_a_server(
    services: Services, alice: Principal, root: Principal
) -> None:
    with pytest.raises(Forbidden):
        await services.mcp_servers.create(alice, stdio_spec())
    await services.mcp_servers.create(root, stdio_spec())
    with pytest.raises(Forbidden):
        await services.mcp_servers.test(alice, "rates")
    with pytest.raises(Forbidden):
        await services.mcp_servers.delete(alice, "rates")
    with pytest.raises(Conflict):
        await services.mcp_servers.create(root, stdio_spec())
    with pytest.raises(Forbidden):
        await services.mcp_servers.list(alice)
    # Anyone may see what there is to allow, and nothing of how it is reached.
    catalog = await services.mcp_servers.catalog(alice)
    assert [(entry.server, entry.error) for entry in catalog] == [("rates", None)]
    assert [tool.name for tool in catalog[0].tools] == TOOLS
    await services.mcp_servers.delete(root, "rates")
    with pytest.raises(NotFound):
        await services.mcp_servers.get(root, "rates")


async def test_a_stdio_server_lists_its_tools_and_its_env_is_stored_encrypted(
    services: Services, root: Principal
) -> None:
    record = await services.mcp_servers.create(
        root, stdio_spec(env={"RATES_API_KEY": "key-7f3a9c"})
    )

    assert "key-7f3a9c" not in await stored_text(services)
    assert set(record.env_encrypted) == {"PYTHONPATH", "RATES_API_KEY"}
    check = await services.mcp_servers.test(root, "rates")
    assert check.ok, check.detail
    assert check.detail == "5 tools"
    assert [tool.name for tool in check.tools] == TOOLS
    rate = next(tool for tool in check.tools if tool.name == "lookup_rate")
    assert "exchange rate" in rate.description
    assert rate.input_schema["properties"]["currency"]["type"] == "string"
    # The process got its env value (and only the safe default environment besides).
    connection = services.mcp_servers.connection(record)
    shown = await connection.call("show_env", {"name": "RATES_API_KEY"})
    assert shown.text == "key-7f3a9c"
    assert (await connection.call("show_env", {"name": "OPENAI_API_KEY"})).text == "(unset)"


async def test_an_http_server_gets_its_headers_which_are_never_stored_in_clear(
    services: Services, root: Principal
) -> None:
    async with serving_tool_server() as served:
        await services.mcp_servers.create(
            root, http_spec(served.url, headers={"Authorization": TOKEN})
        )
        check = await services.mcp_servers.test(root, "web")

    assert check.ok, check.detail
    assert [tool.name for tool in check.tools] == TOOLS
    assert served.headers
    assert all(h["authorization"] == TOKEN for h in served.headers)
    assert TOKEN.split()[1] not in await stored_text(services)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            McpServerCreate(name="gone", command="no-such-mcp-server-command"),
            "could not start: command not found: no-such-mcp-server-command",
        ),
        (
            stdio_spec("dies", exit_at_once=True),
            "stopped before it could list its tools; it wrote on stderr: rates: missing "
            "configuration file",
        ),
        (
            http_spec("http://127.0.0.1:9/mcp", "closed"),
            "cannot be reached",
        ),
    ],
)
async def test_a_server_that_cannot_be_used_says_why(
    services: Services, root: Principal, spec: McpServerCreate, expected: str
) -> None:
    await services.mcp_servers.create(root, spec)

    check = await services.mcp_servers.test(root, spec.name)

    assert not check.ok
    assert expected in check.detail


async def test_http_401_and_404_are_named(services: Services, root: Principal) -> None:
    async with serving_tool_server() as served:
        await services.mcp_servers.create(root, http_spec(served.url, "nokey"))
        await services.mcp_servers.create(
            root, http_spec(served.url + "/elsewhere", "wrong", headers={"Authorization": TOKEN})
        )
        unauthorized = await services.mcp_servers.test(root, "nokey")
        missing = await services.mcp_servers.test(root, "wrong")

    assert "answered HTTP 401 (unauthorized: check its headers" in unauthorized.detail
    assert "answered HTTP 404 (not found: check its URL" in missing.detail


async def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    services: Services, root: Principal
) -> None:
    record = await services.mcp_servers.create(root, stdio_spec())
    endpoint = services.mcp_servers.connection(record).endpoint
    connection = McpConnection(endpoint, Limits(call_timeout_s=1.0))

    with pytest.raises(McpToolError) as caught:
        await connection.call("sleep", {"seconds": 30})

    assert caught.value.name == "McpTimeout"
    assert "did not answer sleep in 1 s" in caught.value.message


def test_a_registration_names_one_transport_and_valid_names() -> None:
    with pytest.raises(SpecError, match="either command"):
        McpServerCreate(name="both", command="x", url="https://example.org/mcp")
    with pytest.raises(SpecError, match="either command"):
        McpServerCreate(name="neither")
    with pytest.raises(SpecError, match="http:// or https://"):
        McpServerCreate(name="ftp", url="ftp://example.org/mcp")
    with pytest.raises(SpecError, match="not a valid header name"):
        McpServerCreate(name="h", url="https://example.org/mcp", headers={"Bad Name": "x"})
    with pytest.raises(SpecError, match="headers are for an HTTP server"):
        McpServerCreate(name="h", command="x", headers={"Authorization": "x"})
    with pytest.raises(SpecError, match="credentials in a header"):
        McpServerCreate(name="h", url="https://user:pw@example.org/mcp")
    with pytest.raises(SpecError):
        McpServerCreate(name="-rates", command="x")
    with pytest.raises(SpecError, match="reserved"):
        McpServerCreate(name="calls", command="x")


async def test_an_assistant_may_name_only_existing_tools_of_enabled_servers(
    services: Services, alice: Principal, root: Principal
) -> None:
    await services.mcp_servers.create(root, stdio_spec())

    for entries, expected in [
        (["nowhere/lookup_rate"], "no MCP server 'nowhere'"),
        (["rates/convert"], "the MCP server 'rates' has no tool 'convert' (it has: lookup_rate"),
        (["rates"], "is not server/tool or server/*"),
    ]:
        with pytest.raises((ValidationError, SpecError)) as caught:
            await services.assistants.create(
                alice, AssistantCreate(name=f"a {entries[0]}", mcp_tools=entries)
            )
        assert expected in str(caught.value)
    assistant = await services.assistants.create(
        alice, AssistantCreate(name="rates analyst", mcp_tools=["rates/lookup_rate"])
    )
    assert assistant.mcp_tools == ["rates/lookup_rate"]
    await services.mcp_servers.set_enabled(root, "rates", False)
    with pytest.raises(ValidationError, match="is disabled"):
        await services.assistants.update(
            alice, assistant.id, AssistantUpdate(mcp_tools=["rates/*"])
        )


async def test_a_turn_gets_only_the_allowed_tools_and_each_call_is_logged(
    services: Services, alice: Principal, root: Principal
) -> None:
    await services.mcp_servers.create(root, stdio_spec())
    turn = await services.mcp_servers.for_turn(
        alice.user_id, "assistant-1", "conversation-1", ["rates/lookup_rate", "rates/fail"]
    )

    assert [info.offered_as for info in turn.tools()] == [
        "mcp__rates__lookup_rate",
        "mcp__rates__fail",
    ]
    answered = await turn.call("mcp__rates__lookup_rate", {"currency": "gbp"})
    failed = await turn.call("mcp__rates__fail", {})
    with pytest.raises(McpToolError) as refused:
        await turn.call("mcp__rates__show_env", {"name": "PYTHONPATH"})

    assert answered.text == "1 GBP = 1.2710 USD"
    assert failed.is_error
    assert "the rates backend is down" in failed.text
    assert refused.value.name == "McpToolRefused"
    log = await services.mcp_servers.calls(root)
    assert [(e.tool, e.outcome) for e in reversed(log)] == [
        ("lookup_rate", "ok"),
        ("fail", "error"),
    ]
    first = log[-1]
    assert (first.owner_id, first.assistant_id, first.conversation_id) == (
        alice.user_id,
        "assistant-1",
        "conversation-1",
    )
    assert first.arguments == '{"currency": "gbp"}'
    assert first.result_bytes == len("1 GBP = 1.2710 USD")
    assert first.duration_s is not None
    # A user sees their own calls only.
    assert await services.mcp_servers.calls(Principal("bob-id", "bob")) == []


async def test_a_server_that_cannot_be_reached_is_left_out_of_a_turn(
    services: Services, alice: Principal, root: Principal
) -> None:
    await services.mcp_servers.create(root, stdio_spec())
    await services.mcp_servers.create(root, http_spec("http://127.0.0.1:9/mcp", "down"))
    await services.mcp_servers.create(root, stdio_spec("off", enabled=False))

    turn = await services.mcp_servers.for_turn(
        alice.user_id, None, None, ["down/*", "rates/lookup_rate", "off/*"]
    )
    catalog = await services.mcp_servers.catalog(alice)

    assert [info.offered_as for info in turn.tools()] == ["mcp__rates__lookup_rate"]
    assert [(entry.server, bool(entry.error)) for entry in catalog] == [
        ("down", True),
        ("rates", False),
    ]
