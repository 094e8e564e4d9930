"""`AnalystClient` against the real service: conversations with the default assistant,
streamed uploads with progress, a turn's events, downloads, cancelling, and errors in the
API's own shape."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from sandbox_analyst.client import DEFAULT_ASSISTANT_NAME, AnalystAPIError, AnalystClient
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.conftest import free_port
from tests.fixtures.apps import serving
from tests.fixtures.embedded import analyst_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = "month,sales\nJan,10\nFeb,14\nMar,9\n"
PLOT = (
    "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.read_csv('sales.csv')\nprint('total', df.sales.sum())\n"
    "df.plot.bar(x='month', y='sales')\nplt.show()"
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_a_turn_streams_its_events_and_its_chart_downloads(
    client: AnalystClient, fake: FakeLLMServer, tmp_path: Path
) -> None:
    conversation = await client.create_conversation("sales")
    data = tmp_path / "sales.csv"
    data.write_text(CSV)
    upload = await client.upload_file(data, conversation["id"])
    fake.add_turns(
        Turn(text="Let me plot it.", tool_calls=[("execute_code", {"code": PLOT})]),
        lambda body: Turn(text=f"Here it is: {last_tool_result(body)}"),
    )

    events = [e async for e in client.ask(conversation["id"], "Plot sales by month")]

    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[-1] == "message_end"
    assert types.index("tool_call") < types.index("stdout") < types.index("tool_result")
    assert "".join(e.data["text"] for e in events if e.type == "stdout") == "total 33\n"
    (artifact,) = [e.data for e in events if e.type == "artifact"]
    assert artifact["media_type"] == "image/png"
    assert (await client.download(artifact["id"])).startswith(PNG_MAGIC)
    assert events[-1].data["status"] == "complete"
    assert events[-1].data["artifact_ids"] == [artifact["id"]]

    detail = await client.conversation(conversation["id"])
    user, assistant = detail["messages"]
    assert (user["role"], user["content"]) == ("user", "Plot sales by month")
    assert [call["code"] for call in assistant["tool_calls"]] == [PLOT]
    assert assistant["artifact_ids"] == [artifact["id"]]
    assert (await client.file_info(upload["id"]))["conversation_id"] == conversation["id"]


async def test_conversations_share_one_default_assistant(client: AnalystClient) -> None:
    first = await client.create_conversation()
    second = await client.create_conversation("again")

    assert first["assistant_id"] == second["assistant_id"]
    named = [a for a in await client.list_assistants() if a["name"] == DEFAULT_ASSISTANT_NAME]
    assert [a["id"] for a in named] == [first["assistant_id"]]


async def test_an_upload_streams_from_disk_and_reports_its_progress(
    client: AnalystClient, tmp_path: Path
) -> None:
    data = "".join(f"{i},{i * 7 % 1000}\n" for i in range(80_000)).encode()
    path = tmp_path / "mesures-été.csv"
    path.write_bytes(data)
    progress: list[tuple[int, int]] = []

    upload = await client.upload_file(
        path, progress=lambda sent, total: progress.append((sent, total))
    )

    assert (upload["name"], upload["size"]) == ("mesures-été.csv", len(data))
    assert upload["sha256"] == hashlib.sha256(data).hexdigest()
    sent = [s for s, _ in progress]
    assert sent == sorted(sent)
    assert (sent[0], sent[-1]) == (0, len(data))
    assert len(sent) > 2  # several chunks, not one read of the whole file
    assert {total for _, total in progress} == {len(data)}
    assert await client.download(upload["id"]) == data


async def test_cancel_stops_a_running_turn(client: AnalystClient, fake: FakeLLMServer) -> None:
    conversation = await client.create_conversation()
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": "import time; time.sleep(60)"})]))

    events = []
    async for event in client.ask(conversation["id"], "wait a minute"):
        events.append(event)
        if event.type == "tool_call":
            await client.cancel(conversation["id"])

    assert events[-1].type == "message_end"
    assert events[-1].data["status"] == "cancelled"


async def test_api_errors_keep_their_status_code_and_field(client: AnalystClient) -> None:
    with pytest.raises(AnalystAPIError) as missing:
        await client.file_info("no-such-file")
    assert (missing.value.status, missing.value.code) == (404, "not_found")

    with pytest.raises(AnalystAPIError) as bad_assistant:
        await client.create_conversation(assistant_id="no-such-assistant")
    assert (bad_assistant.value.status, bad_assistant.value.field) == (404, "assistant_id")

    with pytest.raises(AnalystAPIError) as no_conversation:
        async for _ in client.ask("no-such-conversation", "hello"):
            pass
    assert no_conversation.value.status == 404


async def test_a_key_is_checked_by_a_multi_user_server(
    tmp_path: Path, database_url: str, fake: FakeLLMServer
) -> None:
    settings = analyst_settings(tmp_path, database_url, fake)
    async with Services.running(settings) as services:
        user = await services.users.create_user("ada")
        key = (await services.users.create_key(user.id)).secret

    async with serving(settings) as url:
        async with AnalystClient(url, api_key=key) as ada:
            assert (await ada.me())["name"] == "ada"
        async with AnalystClient(url, api_key="sa_wrong") as stranger:
            with pytest.raises(AnalystAPIError) as refused:
                await stranger.me()
        async with AnalystClient(url) as anonymous:
            with pytest.raises(AnalystAPIError) as anonymous_refused:
                await anonymous.create_conversation()
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    assert anonymous_refused.value.status == 401


async def test_an_unreachable_server_is_named_in_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async with AnalystClient(url) as client:
        with pytest.raises(AnalystAPIError) as unreachable:
            await client.me()

    assert (unreachable.value.status, unreachable.value.code) == (0, "unreachable")
    assert f"cannot reach server at {url}" in str(unreachable.value)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_a_server_over_tls_must_show_a_certificate_the_client_trusts(
    tmp_path: Path,
) -> None:
    key, cert = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def handshake_once() -> None:
            connection, _ = listener.accept()
            with contextlib.suppress(ssl.SSLError, OSError):
                context.wrap_socket(connection, server_side=True).close()
            connection.close()

        server = threading.Thread(target=handshake_once, daemon=True)
        server.start()
        async with AnalystClient(f"https://127.0.0.1:{port}") as analyst:
            with pytest.raises(AnalystAPIError, match=r"(?i)certificate"):
                await analyst.me()
        server.join(timeout=30)
