"""The system prompt: rules, the assistant's instructions, libraries and the uploaded files."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import DataFile
from sandbox_analyst.llm import ChatMessage, ToolCall
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import SALES_CSV, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")


def system_message(fake: FakeLLMServer) -> str:
    first = fake.model_requests[0].json["messages"][0]
    assert first["role"] == "system"
    return first["content"]


async def test_prompt_carries_rules_instructions_libraries_and_file_previews(
    make_agent, sandbox: LocalSandbox, fake: FakeLLMServer
) -> None:
    sales = await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    notes = await upload(sandbox, "notes.md", b"# notes", "text/markdown")
    agent = make_agent(
        Turn(text="Hi."),
        instructions="Answer in French.",
        allowed_libraries=["pandas", "statsmodels"],
    )

    await run_turn(agent, "Hello", [sales, notes])

    prompt = system_message(fake)
    assert "Answer in French." in prompt
    assert "Libraries you may use: pandas, statsmodels" in prompt
    assert "Never invent numbers" in prompt
    assert "markdown link" in prompt
    assert "stderr may hold harmless warnings" in prompt
    assert f"- sales.csv (text/csv, {len(SALES_CSV)} bytes)" in prompt
    assert "region (" in prompt
    assert "dtypes guessed from the first rows" in prompt
    assert "310.75" in prompt  # from the first rows
    assert "- notes.md (text/markdown, 7 bytes)" in prompt


async def test_files_previewed_earlier_in_the_conversation_are_not_previewed_again(
    make_agent, sandbox: LocalSandbox, fake: FakeLLMServer
) -> None:
    sales = await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    call = ToolCall("call_9", "preview_file", {"path": "sales.csv"}, '{"path": "sales.csv"}')
    history = [
        ChatMessage("user", "What is in sales.csv?"),
        ChatMessage("assistant", "", tool_calls=[call]),
        ChatMessage("tool", "sales.csv: 4 rows x 3 columns", tool_call_id="call_9"),
        ChatMessage("assistant", "Four rows."),
    ]
    agent = make_agent(Turn(text="Sure."))

    await run_turn(agent, "Thanks", [sales], history=history)

    prompt = system_message(fake)
    assert "(previewed earlier in this conversation)" in prompt
    assert "310.75" not in prompt


async def test_without_files_or_settings_the_defaults_are_shown(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(Turn(text="Hi."))

    await run_turn(agent, "Hello")

    prompt = system_message(fake)
    assert "Uploaded files: none." in prompt
    assert "pandas, numpy, matplotlib, scipy, scikit-learn" in prompt
    assert "Instructions for this assistant" not in prompt


async def test_an_unreadable_upload_is_listed_with_the_reason(
    make_agent, sandbox: LocalSandbox, fake: FakeLLMServer
) -> None:
    broken = await upload(sandbox, "broken.xlsx", b"not a workbook", "application/vnd.ms-excel")
    agent = make_agent(Turn(text="Hi."))

    await run_turn(agent, "Hello", [broken, DataFile("gone.csv", 10, "text/csv")])

    prompt = system_message(fake)
    assert "broken.xlsx: could not be read as a table" in prompt
    assert "gone.csv: could not be read as a table (FileNotFoundError" in prompt
