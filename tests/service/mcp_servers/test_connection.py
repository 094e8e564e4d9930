"""One SDK session per operation on the test MCP server (a real stdio process): what a result
becomes (text joined, images decoded, `isError` kept), and how big it may be."""

from __future__ import annotations

import pytest

from sandbox_analyst.service import Principal, Services
from sandbox_analyst.service.mcp_servers import Endpoint, Limits
from sandbox_analyst.service.mcp_servers.connection import McpConnection
from tests.fixtures.mcp_servers import stdio_spec


@pytest.fixture
async def endpoint(services: Services, root: Principal):  # type: ignore[no-untyped-def]
    record = await services.mcp_servers.create(root, stdio_spec())
    return services.mcp_servers.connection(record).endpoint


async def test_an_image_comes_back_decoded(endpoint) -> None:  # type: ignore[no-untyped-def]
    result = await McpConnection(endpoint, Limits()).call("draw_square", {})

    assert not result.is_error
    assert [image.media_type for image in result.images] == ["image/png"]
    assert result.images[0].data.startswith(b"\x89PNG\r\n\x1a\n")


async def test_an_image_over_the_limit_is_left_out_and_said(endpoint) -> None:  # type: ignore[no-untyped-def]
    result = await McpConnection(endpoint, Limits(max_image_bytes=16)).call("draw_square", {})

    assert result.images == []
    assert result.omitted == ["an image (image/png) that is too large or invalid"]


async def test_text_over_the_limit_is_cut_and_said(endpoint) -> None:  # type: ignore[no-untyped-def]
    result = await McpConnection(endpoint, Limits(max_result_chars=5)).call(
        "lookup_rate", {"currency": "eur"}
    )

    assert result.text.startswith(
        "1 EUR\n[... 13 more characters cut (mcp_client.max_result_chars)]"
    )


async def test_a_tool_error_is_a_result_flagged_as_an_error(endpoint) -> None:  # type: ignore[no-untyped-def]
    result = await McpConnection(endpoint, Limits()).call("lookup_rate", {"currency": "xyz"})

    assert result.is_error
    assert "no rate for 'xyz'" in result.text


def test_an_error_never_quotes_a_secret() -> None:
    endpoint = Endpoint(
        "web", "http", url="https://x/mcp", headers={"Authorization": "Bearer abc123"}
    )

    assert endpoint.scrubbed("refused Bearer abc123 here") == "refused *** here"
