"""`analyst fork CONVERSATION_ID`: the fork's id on stdout, the replay reported (as JSON with
--json), the fork the original owner's with the original's messages; an unknown id an error.
The replay runs in a real local sandbox (the fork itself is tested over HTTP in
tests/api/chat/test_fork.py)."""

from __future__ import annotations

import asyncio
import json

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Principal, Services
from tests.cli.conftest import CODE, stored_conversation


def stored(settings: Settings, conversation_id: str) -> tuple[str, str, list[str]]:
    async def read() -> tuple[str, str, list[str]]:
        async with Services.running(settings) as services:
            operator = Principal("cli", "cli", is_admin=True)
            detail = await services.conversations.get(operator, conversation_id)
            runs = await services.conversations.list_executions(operator, conversation_id)
            return detail.conversation.owner_id, detail.conversation.title, [r.code for r in runs]

    return asyncio.run(read())


def test_a_fork_is_made_and_its_cells_replayed(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    conversation_id = stored_conversation(settings)

    result = analyst("fork", conversation_id)

    assert result.exit_code == 0, result.output
    fork_id = result.stdout.strip()
    assert fork_id != conversation_id
    assert "replayed 1 cells: 1 ran, 0 failed" in result.stderr
    owner, title, codes = stored(settings, fork_id)
    assert (owner, title, codes) == (
        stored(settings, conversation_id)[0],
        "Six times seven (fork)",
        [CODE],
    )


def test_as_json_with_a_title(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    conversation_id = stored_conversation(settings)

    result = analyst("fork", conversation_id, "--title", "Seven sixes", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["title"] == "Seven sixes"
    assert document["source_id"] == conversation_id
    assert document["messages"] == 2
    assert document["replay"]["status"] == "replayed"
    assert document["replay"]["cells_replayed"] == 1
    assert document["replay"]["failures"] == []


def test_an_unknown_conversation_is_an_error(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_conversation(settings)

    result = analyst("fork", "noSuchConversation00000")

    assert result.exit_code == 1
    assert "conversation not found" in result.output
