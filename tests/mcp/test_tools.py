"""The MCP tools, as an MCP client sees them over streamable HTTP (the 2025 handshake: one
HTTP session, one sandbox): state kept between calls, bash, figures as image content, files in
and out, and every bad input a tool error (`isError`) that says what is wrong."""

from __future__ import annotations

import base64

import pytest
from mcp_types import EmbeddedResource, ImageContent

from sandbox_analyst.mcp import McpSandboxes
from tests.mcp.conftest import http_client, images_of, run, serving_mcp, text_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_the_five_tools_are_offered_with_their_arguments(mcp_url: str) -> None:
    async with http_client(mcp_url) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {
        "execute_code",
        "upload_file",
        "list_files",
        "download_file",
        "new_session",
    }
    execute = tools["execute_code"].input_schema
    assert execute["required"] == ["code"]
    assert set(execute["properties"]) >= {"code", "language", "session_id", "timeout"}
    assert tools["upload_file"].input_schema["required"] == ["name", "content_base64"]


async def test_python_keeps_its_variables_between_calls(mcp_url: str) -> None:
    async with http_client(mcp_url) as client:
        first = await run(
            client, "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3]})\nprint('made')"
        )
        second = await run(client, "int(df.x.sum() * 2)")
    assert not first.is_error
    assert text_of(first) == "made\n"
    assert not second.is_error
    assert text_of(second) == "12"


async def test_bash_runs_in_the_same_working_directory(mcp_url: str) -> None:
    async with http_client(mcp_url) as client:
        await run(client, "open('from_python.txt', 'w').write('hello')")
        shell = await run(client, "cat from_python.txt; echo; echo err >&2", language="bash")
        failed = await run(client, "exit 3", language="bash")
    assert not shell.is_error
    assert "hello" in text_of(shell)
    assert "[stderr]\nerr" in text_of(shell)
    assert failed.is_error
    assert "exit code 3" in text_of(failed)


async def test_a_figure_comes_back_once_as_png_image_content(mcp_url: str) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('t')\nplt.show()"
    async with http_client(mcp_url) as client:
        result = await run(client, code)
    assert not result.is_error
    images = [part for part in result.content if isinstance(part, ImageContent)]
    assert len(images) == 1
    assert images[0].mime_type == "image/png"
    assert images_of(result)[0].startswith(PNG_MAGIC)


async def test_an_uploaded_file_is_read_by_name_in_code_and_listed(mcp_url: str) -> None:
    csv = b"city,sales\nOslo,3\nLima,4\n"
    async with http_client(mcp_url) as client:
        uploaded = await client.call_tool(
            "upload_file",
            {"name": "data/sales.csv", "content_base64": base64.b64encode(csv).decode()},
        )
        total = await run(
            client, "import pandas as pd\nint(pd.read_csv('data/sales.csv').sales.sum())"
        )
        listing = await client.call_tool("list_files", {})
    assert not uploaded.is_error
    assert "data/sales.csv (25 bytes)" in text_of(uploaded)
    assert text_of(total) == "7"
    assert "data/sales.csv\t25 bytes" in text_of(listing).splitlines()
    assert ".cache" not in text_of(listing)


async def test_downloads_are_text_resources_images_or_blobs(mcp_url: str) -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2]); plt.savefig('chart.png'); plt.close()\n"
        "open('notes.md', 'w').write('# Notes\\nfine')\n"
        "open('raw.bin', 'wb').write(bytes(range(256)))"
    )
    async with http_client(mcp_url) as client:
        await run(client, code)
        chart = await client.call_tool("download_file", {"name": "chart.png"})
        notes = await client.call_tool("download_file", {"name": "notes.md"})
        raw = await client.call_tool("download_file", {"name": "raw.bin"})
    assert images_of(chart)[0].startswith(PNG_MAGIC)
    [text] = notes.content
    assert isinstance(text, EmbeddedResource)
    assert text.resource.text == "# Notes\nfine"
    assert text.resource.mime_type == "text/markdown"
    assert str(text.resource.uri).endswith("/notes.md")
    [blob] = raw.content
    assert isinstance(blob, EmbeddedResource)
    assert base64.b64decode(blob.resource.blob) == bytes(range(256))


async def test_failing_code_is_a_tool_error_with_its_traceback(mcp_url: str) -> None:
    async with http_client(mcp_url) as client:
        await run(client, "kept = 'yes'")
        failed = await run(client, "print('before')\n1 / 0")
        syntax = await run(client, "def broken(:")
        after = await run(client, "kept")
    assert failed.is_error
    assert "before" in text_of(failed)
    assert "ZeroDivisionError" in text_of(failed)
    assert "\x1b[" not in text_of(failed)  # no terminal colours for a model to read
    assert syntax.is_error
    assert "SyntaxError" in text_of(syntax)
    assert not after.is_error
    assert text_of(after) == "'yes'"


async def test_code_over_its_timeout_is_interrupted_and_the_session_kept(mcp_url: str) -> None:
    async with http_client(mcp_url) as client:
        await run(client, "survivor = 5")
        slow = await run(client, "import time\ntime.sleep(30)", timeout=1)
        after = await run(client, "survivor")
    assert slow.is_error
    assert "TimeoutError" in text_of(slow)
    assert text_of(after) == "5"


async def test_sql_queries_the_working_directorys_files(mcp_url: str) -> None:
    async with http_client(mcp_url) as client:
        await run(client, "open('sales.csv', 'w').write('region,amount\\nnorth,10\\nnorth,7\\n')")
        query = await run(client, "SELECT sum(amount) AS total FROM 'sales.csv'", language="sql")
        failed = await run(client, "SELECT * FROM missing", language="sql")
        in_python = await run(client, "int(_sql.total[0])")
    assert not query.is_error
    assert "17" in text_of(query)
    assert failed.is_error
    assert "CatalogException" in text_of(failed)
    assert text_of(in_python) == "17"


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("execute_code", {"code": "1", "language": "ruby"}, "language"),
        ("execute_code", {}, "code"),
        ("upload_file", {"name": "a.csv", "content_base64": "not base64!"}, "not valid base64"),
        ("upload_file", {"name": "../escape.txt", "content_base64": "AAAA"}, "'..' is not allowed"),
        ("download_file", {"name": "missing.csv"}, "no such file"),
        ("download_file", {"name": "/etc/passwd"}, "no such directory in the workdir"),
        ("execute_code", {"code": "1", "session_id": "mcp-nonexistent"}, "no sandbox session"),
    ],
)
async def test_bad_input_is_a_tool_error_saying_what_is_wrong(
    mcp_url: str, tool: str, arguments: dict[str, object], message: str
) -> None:
    async with http_client(mcp_url) as client:
        result = await client.call_tool(tool, arguments)
        still_works = await run(client, "1 + 1")
    assert result.is_error
    assert message in text_of(result)
    assert text_of(still_works) == "2"


async def test_an_upload_over_the_limit_is_refused(mcp_sandboxes: McpSandboxes) -> None:
    async with (
        serving_mcp(mcp_sandboxes, max_upload_bytes=10) as url,
        http_client(url) as client,
    ):
        data = base64.b64encode(b"x" * 11).decode()
        result = await client.call_tool("upload_file", {"name": "big", "content_base64": data})
    assert result.is_error
    assert "over the 10-byte upload limit" in text_of(result)
