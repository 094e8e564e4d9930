"""`analyst export CONVERSATION_ID`: the notebook or the script written to a file named after
the conversation (or to -o FILE, or stdout), an existing file kept, an unknown id an error.
The conversation is stored through the services as a turn stores it (the turn itself is
tested over HTTP in tests/api/chat/test_export.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import AssistantCreate, Principal, Services

CODE = "print(6 * 7)"


def stored_conversation(settings: Settings) -> str:
    async def store() -> str:
        async with Services.running(settings) as services:
            user = await services.users.create_user("alice")
            alice = Principal(user.id, user.name)
            assistant = await services.assistants.create(alice, AssistantCreate(name="analyst"))
            conversation = await services.conversations.create(
                alice, assistant.id, title="Six times seven"
            )
            await services.conversations.append_message(conversation.id, "user", "What is 6*7?")
            message = await services.conversations.append_message(
                conversation.id,
                "assistant",
                "It is 42.",
                tool_calls=[{"id": "call-1", "name": "execute_code", "code": CODE}],
                tool_results=[{"call_id": "call-1", "success": True, "results": []}],
            )
            await services.conversations.append_execution(
                conversation.id, user.id, code=CODE, status="ok", message_id=message.id
            )
            return conversation.id

    return asyncio.run(store())


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYST_DATABASE_URL", settings.effective_database_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_a_notebook_named_after_the_conversation(run, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conversation_id = stored_conversation(settings)

    result = run("export", conversation_id)

    assert result.exit_code == 0, result.output
    written = tmp_path / "Six times seven.ipynb"
    notebook = nbformat.read(written, as_version=4)
    nbformat.validate(notebook)
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "code", "markdown"]
    assert notebook.cells[1].source == CODE
    assert "It is 42." in notebook.cells[2].source

    again = run("export", conversation_id)
    assert again.exit_code == 2
    assert "exists" in again.output
    assert run("export", conversation_id, "--force").exit_code == 0


def test_a_script_to_a_named_file_or_stdout(run, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conversation_id = stored_conversation(settings)

    to_file = run("export", conversation_id, "--format", "py", "-o", "analysis.py")
    to_stdout = run("export", conversation_id, "-f", "py", "-o", "-")

    assert to_file.exit_code == 0, to_file.output
    script = (tmp_path / "analysis.py").read_text()
    assert f"# %%\n{CODE}" in script
    assert "# What is 6*7?" in script
    assert to_stdout.stdout == script


def test_an_unknown_conversation_is_an_error(run, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_conversation(settings)

    result = run("export", "noSuchConversation00000")

    assert result.exit_code == 1
    assert "conversation not found" in result.output
