"""A conversation's sandbox across turns: kept, rebuilt when its worker or the sandbox itself
was lost, and interrupted when the client goes away or asks to stop."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import Chatter, parse_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

AUDIT = Principal("audit", "audit", is_admin=True)
LONG_CELL = "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('finished')"


def run(code: str) -> list[object]:
    """A model turn that runs `code`, then answers with what it printed."""
    return [
        Turn(tool_calls=[("execute_code", {"code": code})]),
        lambda body: Turn(text=f"Output: {last_tool_result(body)}"),
    ]


async def test_state_survives_a_worker_killed_between_turns(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    fake.add_turns(*run("x = 41\nprint('x is set')"), *run("y = 'unrelated'"))
    await alice.ask("Set x")
    second = await alice.ask("Something else")
    assert second.of("sandbox_restored") == []  # the live sandbox was reused
    sandbox = services.sandboxes.get(alice.conversation_id)
    assert sandbox is not None
    os.kill(sandbox.pid, signal.SIGKILL)

    fake.add_turns(*run("print(x + 1)"))
    third = await alice.ask("What is x + 1?")

    [restored] = third.of("sandbox_restored")
    assert restored["reason"] == "worker_lost"
    assert restored["cells_replayed"] == 2
    assert restored["cells_failed"] == 0
    assert third.names().index("sandbox_restored") < third.names().index("tool_call")
    assert "42" in third.stdout
    assert "42" in third.text


async def test_a_lost_sandbox_is_rebuilt_with_its_files_and_variables(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    await alice.upload("data.csv", b"a,b\n1,2\n3,4\n")
    write = (
        "import pandas as pd\ndf = pd.read_csv('data.csv')\n"
        "df.assign(c=df.a + df.b).to_csv('derived.csv', index=False)\ntotal = int(df.a.sum())"
    )
    fake.add_turns(*run(write))
    await alice.ask("Derive c")
    owner = services.sandboxes.get(alice.conversation_id)
    assert owner is not None
    # As if reaped when idle, or the server restarted: the sandbox and its workdir are gone.
    await owner.close()

    check = "import os\nprint(sorted(os.listdir('.')), total, open('derived.csv').read().split())"
    fake.add_turns(*run(check))
    reply = await alice.ask("What is there?")

    [restored] = reply.of("sandbox_restored")
    assert restored["reason"] == "new_sandbox"
    assert restored["files"] == 2  # the upload, and the file the code had written
    assert restored["cells_replayed"] == 1
    assert "['data.csv', 'derived.csv'] 4" in reply.stdout
    assert "a,b,c" in reply.stdout
    assert services.sandboxes.get(alice.conversation_id) is not owner


async def test_files_attached_after_the_first_turn_appear_in_the_workdir(
    fake: FakeLLMServer, alice: Chatter
) -> None:
    fake.add_turns(*run("print('nothing yet')"))
    await alice.ask("Hello")
    file_id = await alice.upload("late.csv", b"k,v\nx,1\n")

    fake.add_turns(*run("print(open('late.csv').read())"))
    reply = await alice.ask("Read the new file", file_ids=[file_id])

    assert "k,v" in reply.stdout
    assert reply.of("sandbox_restored") == []


async def test_a_client_that_disconnects_interrupts_the_code_and_the_turn_is_cancelled(
    fake: FakeLLMServer, alice: Chatter, services: Services, live_url: str
) -> None:
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": LONG_CELL})]))
    url = f"{live_url}/api/conversations/{alice.conversation_id}/messages"
    headers = {**alice.headers, "Accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(timeout=60) as http,
        http.stream("POST", url, json={"content": "Sleep"}, headers=headers) as response,
    ):
        async for line in response.aiter_lines():
            if "started" in line:
                break  # the cell runs: hang up

    _user, assistant = await _wait_for_end(alice)
    assert assistant["status"] == "cancelled"
    [execution] = await services.conversations.list_executions(AUDIT, alice.conversation_id)
    assert execution.status == "cancelled"
    assert execution.code == LONG_CELL
    # The sleeping code was interrupted: the sandbox answers at once, not a minute later.
    fake.add_turns(*run("print('still here')"))
    reply = await alice.ask("Are you there?")
    assert "still here" in reply.stdout
    assert "finished" not in reply.stdout


async def test_a_second_turn_is_refused_while_one_runs_and_stop_cancels_it(
    fake: FakeLLMServer, alice: Chatter, live_url: str
) -> None:
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": LONG_CELL})]))
    base = f"{live_url}/api/conversations/{alice.conversation_id}"
    headers = {**alice.headers, "Accept": "text/event-stream"}
    async with httpx.AsyncClient(timeout=60) as http:
        async with http.stream(
            "POST", f"{base}/messages", json={"content": "Sleep"}, headers=headers
        ) as response:
            body = ""
            chunks = response.aiter_text()
            async for chunk in chunks:
                body += chunk
                if "started" in body:
                    break
            second = await http.post(
                f"{base}/messages", json={"content": "Me too"}, headers=alice.headers
            )
            stop = await http.post(f"{base}/cancel", headers=alice.headers)
            async for chunk in chunks:
                body += chunk

        assert second.status_code == 409
        assert second.json()["error"]["code"] == "conflict"
        assert stop.json() == {"cancelled": True}
        events = parse_events(body)
        assert events[-1][0] == "message_end"
        assert events[-1][1]["status"] == "cancelled"
        again = await http.post(f"{base}/cancel", headers=alice.headers)
        assert again.json() == {"cancelled": False}


async def _wait_for_end(chatter: Chatter) -> list[dict]:
    for _ in range(300):
        messages = await chatter.messages()
        if messages and messages[-1]["status"] not in ("streaming", "pending"):
            return messages
        await asyncio.sleep(0.05)
    raise AssertionError(f"the turn did not end: {messages}")
