"""The websocket half of /jupyter, driven as Open WebUI's code interpreter drives it (the
`websockets` client it uses, its exact execute_request, `?token=` everywhere) and with
jupyter_client's own messages: Jupyter messages v5 from busy to idle, state kept across
executes, figures as display_data, errors, control requests, and access refused."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
import websockets
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session

from sandbox_analyst.sandbox import SessionManager
from tests.api.jupyter.conftest import (
    Keys,
    channels,
    execute,
    execute_request,
    of_type,
    start_kernel,
    stdout_of,
    until_idle,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_open_webuis_sequence_runs_code_in_a_sandbox(
    live_url: str, keys: Keys, sandbox_sessions: SessionManager
) -> None:
    """POST api/kernels (no body) -> channels websocket -> one execute_request -> messages
    until status idle -> DELETE api/kernels/{id}: what Open WebUI does for each code run."""
    before = len(sandbox_sessions)
    kernel_id = await start_kernel(live_url, keys.alice)
    async with channels(live_url, kernel_id, keys.alice) as ws:
        answers = await execute(
            ws, "import sys\nprint('hello')\nprint('warn', file=sys.stderr)\n6*7"
        )
    async with httpx.AsyncClient(base_url=live_url) as http:
        deleted = await http.delete(
            f"/jupyter/api/kernels/{kernel_id}", params={"token": keys.alice}
        )

    kinds = [answer["msg_type"] for answer in answers]
    assert kinds[0] == "status"
    assert answers[0]["content"]["execution_state"] == "busy"
    assert kinds[1] == "execute_input"
    assert kinds[-2:] == ["execute_reply", "status"]
    assert stdout_of(answers) == "hello\n"
    [stderr] = [a for a in of_type(answers, "stream") if a["content"]["name"] == "stderr"]
    assert stderr["content"]["text"] == "warn\n"
    [result] = of_type(answers, "execute_result")
    assert result["content"]["data"]["text/plain"] == "42"
    assert result["content"]["execution_count"] == 1
    reply = of_type(answers, "execute_reply")[0]
    assert reply["channel"] == "shell"
    assert reply["content"]["status"] == "ok"
    assert reply["header"]["version"] == "5.3"
    assert deleted.status_code == 204
    assert len(sandbox_sessions) == before


async def test_state_is_kept_across_executes_and_figures_are_display_data(
    live_url: str, keys: Keys
) -> None:
    kernel_id = await start_kernel(live_url, keys.alice)
    async with channels(live_url, kernel_id, keys.alice) as ws:
        await execute(ws, "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3]})")
        total = await execute(ws, "print(int(df.x.sum()))")
        figure = await execute(
            ws, "import matplotlib.pyplot as plt\nplt.plot(df.x)\nplt.title('x')\nplt.show()"
        )
    assert stdout_of(total) == "6\n"
    [display] = of_type(figure, "display_data")
    png = display["content"]["data"]["image/png"]
    assert base64.b64decode(png).startswith(PNG_MAGIC)
    assert of_type(figure, "execute_reply")[0]["content"]["execution_count"] == 3


async def test_an_error_comes_as_an_error_message_and_an_error_reply(
    live_url: str, keys: Keys
) -> None:
    kernel_id = await start_kernel(live_url, keys.alice)
    async with channels(live_url, kernel_id, keys.alice) as ws:
        await execute(ws, "kept = 'yes'")
        failed = await execute(ws, "print('before')\n1 / 0")
        after = await execute(ws, "print(kept)")
    [error] = of_type(failed, "error")
    assert error["content"]["ename"] == "ZeroDivisionError"
    assert any("1 / 0" in line for line in error["content"]["traceback"])
    reply = of_type(failed, "execute_reply")[0]["content"]
    assert reply["status"] == "error"
    assert reply["ename"] == "ZeroDivisionError"
    assert stdout_of(failed) == "before\n"
    assert failed[-1]["content"]["execution_state"] == "idle"
    assert stdout_of(after) == "yes\n"


async def test_requests_queued_behind_an_error_are_aborted(live_url: str, keys: Keys) -> None:
    kernel_id = await start_kernel(live_url, keys.alice)
    async with channels(live_url, kernel_id, keys.alice) as ws:
        failing = execute_request("import time; time.sleep(0.5); raise ValueError('no')")
        queued = execute_request("print('never')")
        await ws.send(json.dumps(failing))
        await ws.send(json.dumps(queued))
        await until_idle(ws, failing)
        skipped = await until_idle(ws, queued)
    assert of_type(skipped, "execute_reply")[0]["content"]["status"] == "aborted"
    assert stdout_of(skipped) == ""


async def test_jupyter_client_messages_kernel_info_and_interrupt(live_url: str, keys: Keys) -> None:
    session = Session(username="tester")
    kernel_id = await start_kernel(live_url, keys.alice)

    def wire(msg_type: str, content: dict, channel: str) -> str:
        msg = session.msg(msg_type, content)
        msg["channel"] = channel
        return json.dumps(msg, default=json_default)

    async with channels(live_url, kernel_id, keys.alice) as ws:
        info_request = session.msg("kernel_info_request", {})
        await ws.send(json.dumps({**info_request, "channel": "shell"}, default=json_default))
        info = await until_idle(ws, json.loads(json.dumps(info_request, default=json_default)))
        [reply] = of_type(info, "kernel_info_reply")
        assert reply["content"]["language_info"]["name"] == "python"
        assert reply["content"]["protocol_version"] == "5.3"

        await execute(ws, "survivor = 1")
        slow = session.msg("execute_request", {"code": "import time\ntime.sleep(30)"})
        await ws.send(json.dumps({**slow, "channel": "shell"}, default=json_default))
        await asyncio.sleep(1)  # let it start
        await ws.send(wire("interrupt_request", {}, "control"))
        interrupted = await until_idle(ws, json.loads(json.dumps(slow, default=json_default)))
        after = await execute(ws, "print(survivor)")
    assert of_type(interrupted, "error")[0]["content"]["ename"] == "KeyboardInterrupt"
    assert stdout_of(after) == "1\n"


async def test_restart_loses_the_variables(live_url: str, keys: Keys) -> None:
    kernel_id = await start_kernel(live_url, keys.alice)
    async with channels(live_url, kernel_id, keys.alice) as ws:
        await execute(ws, "gone = 1")
        async with httpx.AsyncClient(base_url=live_url) as http:
            restarted = await http.post(
                f"/jupyter/api/kernels/{kernel_id}/restart", params={"token": keys.alice}
            )
        after = await execute(ws, "gone")
    assert restarted.status_code == 200
    assert of_type(after, "error")[0]["content"]["ename"] == "NameError"


async def test_the_websocket_is_refused_without_a_token_or_to_another_user(
    live_url: str, keys: Keys
) -> None:
    kernel_id = await start_kernel(live_url, keys.alice)
    ws_url = live_url.replace("http", "ws", 1) + f"/jupyter/api/kernels/{kernel_id}/channels"
    with pytest.raises(websockets.InvalidStatus) as anonymous:
        async with websockets.connect(ws_url):
            pass
    with pytest.raises(websockets.InvalidStatus) as other_user:
        async with websockets.connect(f"{ws_url}?token={keys.bob}"):
            pass
    assert anonymous.value.response.status_code == 401
    assert other_user.value.response.status_code == 404
