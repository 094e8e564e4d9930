"""A conversation exported as a notebook (`/export.ipynb`) and as a script (`/export.py`)
after real turns: the notebook validates (nbformat v4) and holds the questions, the code with
its outputs, the chart as an embedded PNG, the error with its traceback, the answers, the
input file's sha256 and the template's package versions; the script holds the code that
succeeded and reproduces the output; another user's conversation does not exist."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import nbformat
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter, make_chatter

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
PLOT = (
    "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.read_csv('sales.csv')\nprint('total', df.sales.sum())\n"
    "df.plot.bar(x='month', y='sales')\nplt.show()"
)
BROKEN = "df['no such column']"
SHOW = "df.describe()"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def two_turns(fake: FakeLLMServer, alice: Chatter) -> None:
    await alice.upload("sales.csv", CSV)
    fake.add_turns(
        Turn(text="Let me plot it.", tool_calls=[("execute_code", {"code": PLOT})]),
        Turn(text="Sales peaked in February."),
        Turn(tool_calls=[("execute_code", {"code": BROKEN})]),
        Turn(tool_calls=[("execute_code", {"code": SHOW})]),
        Turn(text="There is no such column; here is a summary instead."),
    )
    assert (await alice.ask("Plot sales by month")).end["status"] == "complete"
    assert (await alice.ask("Summarise it")).end["status"] == "complete"


async def test_the_notebook_holds_questions_code_outputs_chart_error_and_answers(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient
) -> None:
    await two_turns(fake, alice)

    response = await client.get(
        f"/api/conversations/{alice.conversation_id}/export.ipynb", headers=alice.headers
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ipynb+json")
    assert "attachment" in response.headers["content-disposition"]
    notebook = nbformat.reads(response.text, as_version=4)
    nbformat.validate(notebook)
    kinds = [(cell.cell_type, cell.source.splitlines()[0]) for cell in notebook.cells]
    assert kinds == [
        ("markdown", "**Question:**"),
        ("markdown", "Let me plot it."),
        ("code", "import pandas as pd"),
        ("markdown", "**Answer:**"),
        ("markdown", "**Question:**"),
        ("code", BROKEN),
        ("code", SHOW),
        ("markdown", "**Answer:**"),
    ]
    plot, broken, show = (cell for cell in notebook.cells if cell.cell_type == "code")
    assert [cell.execution_count for cell in (plot, broken, show)] == [1, 2, 3]

    stdout = [o for o in plot.outputs if o.output_type == "stream" and o.name == "stdout"]
    assert "total 33" in stdout[0].text
    (chart,) = [o for o in plot.outputs if "image/png" in o.get("data", {})]
    assert base64.b64decode(chart.data["image/png"]).startswith(PNG_MAGIC)
    assert plot.metadata["sandbox_analyst"]["success"] is True

    (error,) = [o for o in broken.outputs if o.output_type == "error"]
    assert error.ename == "KeyError"
    assert any("no such column" in line for line in error.traceback)
    assert broken.metadata["sandbox_analyst"]["success"] is False

    (summary,) = [o for o in show.outputs if o.output_type == "display_data"]
    assert "text/html" in summary.data
    assert "mean" in summary.data["text/plain"]
    assert "Sales peaked in February." in notebook.cells[3].source

    facts = notebook.metadata["sandbox_analyst"]
    assert facts["conversation_id"] == alice.conversation_id
    assert facts["input_files"] == [
        {
            "name": "sales.csv",
            "sha256": hashlib.sha256(CSV).hexdigest(),
            "size": len(CSV),
            "media_type": "text/csv",
        }
    ]
    assert facts["template"]["name"] == "default"
    assert facts["template"]["packages"]["pandas"] == version("pandas")
    assert notebook.metadata["kernelspec"]["name"] == "python3"


async def test_the_script_holds_the_code_that_succeeded_and_reproduces_its_output(
    fake: FakeLLMServer, alice: Chatter, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await two_turns(fake, alice)

    response = await client.get(
        f"/api/conversations/{alice.conversation_id}/export.py", headers=alice.headers
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/x-python")
    script = response.text
    assert PLOT in script
    assert SHOW in script
    assert BROKEN not in script
    assert "# Plot sales by month" in script
    assert hashlib.sha256(CSV).hexdigest() in script
    (tmp_path / "sales.csv").write_bytes(CSV)
    (tmp_path / "analysis.py").write_text(script)
    ran = await asyncio.create_subprocess_exec(
        sys.executable,
        "analysis.py",
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await ran.communicate()
    assert ran.returncode == 0, stderr.decode()
    assert "total 33" in stdout.decode()


async def test_another_users_conversation_is_not_found(
    alice: Chatter, client: httpx.AsyncClient, services: Services
) -> None:
    bob = await make_chatter(services, client, "bob")
    for suffix in ("ipynb", "py"):
        path = f"/api/conversations/{alice.conversation_id}/export.{suffix}"
        response = await client.get(path, headers=bob.headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        assert (await client.get(path)).status_code == 401


async def test_an_empty_conversation_is_a_valid_notebook_without_cells(
    alice: Chatter, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        f"/api/conversations/{alice.conversation_id}/export.ipynb", headers=alice.headers
    )

    notebook = nbformat.reads(response.text, as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells == []
    assert json.loads(response.text)["nbformat"] == 4
