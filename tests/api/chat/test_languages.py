"""Chat turns whose code is SQL or R: stored under its cell magic in the execution log, so a
sandbox rebuilt after its worker was lost replays each cell in its own language."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.chat.conftest import Chatter

pytestmark = pytest.mark.asyncio(loop_scope="session")

AUDIT = Principal("audit", "audit", is_admin=True)


def run(code: str, language: str) -> list[object]:
    """A model turn that runs `code` in `language`, then answers with what it printed."""
    return [
        Turn(tool_calls=[("execute_code", {"code": code, "language": language})]),
        lambda body: Turn(text=f"Output: {last_tool_result(body)}"),
    ]


async def test_sql_cells_are_logged_as_sql_and_replayed_as_sql(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    await alice.upload("sales.csv", b"region,amount\nnorth,10\nsouth,5\nnorth,7\n")
    view = "CREATE VIEW north AS SELECT * FROM 'sales.csv' WHERE region = 'north'"
    fake.add_turns(*run(view, "sql"))
    first = await alice.ask("Make a view of the north")
    assert first.of("tool_call")[0]["code"] == f"%%sql\n{view}"
    logged = await services.conversations.list_executions(AUDIT, alice.conversation_id)
    assert [(entry.code, entry.status) for entry in logged] == [(f"%%sql\n{view}", "ok")]

    sandbox = services.sandboxes.get(alice.conversation_id)
    assert sandbox is not None
    os.kill(sandbox.pid, signal.SIGKILL)
    fake.add_turns(*run("SELECT sum(amount) AS total FROM north", "sql"))
    second = await alice.ask("Total of the north?")

    [restored] = second.of("sandbox_restored")
    assert restored["cells_replayed"] == 1
    assert restored["cells_failed"] == 0
    assert "17" in second.text


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
async def test_r_cells_are_replayed_into_a_new_r_session(
    fake: FakeLLMServer, alice: Chatter, services: Services
) -> None:
    fake.add_turns(*run("kept <- 20 + 1", "r"))
    await alice.ask("Set kept in R")
    sandbox = services.sandboxes.get(alice.conversation_id)
    assert sandbox is not None
    os.kill(sandbox.pid, signal.SIGKILL)

    fake.add_turns(*run("kept * 2", "r"))
    reply = await alice.ask("Double it")

    [restored] = reply.of("sandbox_restored")
    assert restored["cells_replayed"] == 1
    assert restored["cells_failed"] == 0
    assert "[1] 42" in reply.text
