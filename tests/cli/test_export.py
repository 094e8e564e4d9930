"""`analyst export CONVERSATION_ID`: the notebook or the script written to a file named after
the conversation (or to -o FILE, or stdout), an existing file kept, an unknown id an error.
The conversation is stored through the services as a turn stores it (the turn itself is
tested over HTTP in tests/api/chat/test_export.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from sandbox_analyst.config import Settings
from tests.cli.conftest import CODE, stored_conversation


def test_a_notebook_named_after_the_conversation(
    analyst, settings: Settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    conversation_id = stored_conversation(settings)

    result = analyst("export", conversation_id)

    assert result.exit_code == 0, result.output
    written = tmp_path / "Six times seven.ipynb"
    notebook = nbformat.read(written, as_version=4)
    nbformat.validate(notebook)
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "code", "markdown"]
    assert notebook.cells[1].source == CODE
    assert "It is 42." in notebook.cells[2].source

    again = analyst("export", conversation_id)
    assert again.exit_code == 2
    assert "exists" in again.output
    assert analyst("export", conversation_id, "--force").exit_code == 0


def test_a_script_to_a_named_file_or_stdout(analyst, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conversation_id = stored_conversation(settings)

    to_file = analyst("export", conversation_id, "--format", "py", "-o", "analysis.py")
    to_stdout = analyst("export", conversation_id, "-f", "py", "-o", "-")

    assert to_file.exit_code == 0, to_file.output
    script = (tmp_path / "analysis.py").read_text()
    assert f"# %%\n{CODE}" in script
    assert "# What is 6*7?" in script
    assert to_stdout.stdout == script


def test_an_unknown_conversation_is_an_error(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_conversation(settings)

    result = analyst("export", "noSuchConversation00000")

    assert result.exit_code == 1
    assert "conversation not found" in result.output
