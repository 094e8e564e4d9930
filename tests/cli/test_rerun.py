"""`analyst rerun NOTEBOOK.ipynb --file DATA`: a real turn's notebook (a chart, a table, an
address in the output, a file written, an error), exported by the export service, re-executed
in a fresh local sandbox: every cell matches (exit 0); with an output and the chart tampered
with, those cells differ (exit 1, in the table and in --json); an input file that is not the
notebook's, or none, is refused (exit 2)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from sandbox_analyst.config import Settings
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.fixtures.models import fake_llm_settings

CSV = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
CELLS = [
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint('total', df.sales.sum(), object())",
    "import matplotlib.pyplot as plt\ndf.plot.bar(x='month', y='sales')\nplt.show()",
    "df.describe()",
    "with open('summary.csv', 'w') as out:\n    out.write('total,33\\n')",
    "df['no such column']",
]


def export_a_real_turn(settings: Settings, fake: FakeLLMServer, target: Path) -> None:
    async def run() -> bytes:
        async with Services.running(settings) as services:
            user = await services.users.create_user("alice")
            alice = Principal(user.id, user.name)
            assistant = await services.assistants.create(alice, AssistantCreate(name="analyst"))
            conversation = await services.conversations.create(alice, assistant.id, title="S")
            await services.files.upload(
                alice, _stream(CSV), filename="sales.csv", conversation_id=conversation.id
            )
            fake.add_turns(
                *(Turn(tool_calls=[("execute_code", {"code": code})]) for code in CELLS),
                Turn(text="Done."),
            )
            turn = await services.chat.start_turn(alice, conversation.id, "Analyse it")
            async for _event in turn:
                pass
            assert (await services.chat.outcome(turn)).message.status == "complete"
            return (await services.notebooks.ipynb(alice, conversation.id)).content

    target.write_bytes(asyncio.run(run()))


async def _stream(data: bytes):  # type: ignore[no-untyped-def]
    yield data


@pytest.fixture
def exported(settings: Settings, fake: FakeLLMServer, tmp_path: Path) -> Path:
    notebook = tmp_path / "analysis.ipynb"
    export_a_real_turn(settings.model_copy(update={"llm": fake_llm_settings(fake)}), fake, notebook)
    (tmp_path / "sales.csv").write_bytes(CSV)
    return notebook


def test_a_notebook_reruns_and_matches_then_tampered_cells_differ(analyst, exported: Path) -> None:  # type: ignore[no-untyped-def]
    notebook = nbformat.read(exported, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.source for cell in code] == CELLS
    assert "0x" in code[0].outputs[0].text  # an address, which the rerun will not repeat

    result = analyst("rerun", str(exported), "--file", str(exported.parent / "sales.csv"))

    assert result.exit_code == 0, result.output
    assert "5 of 5 cells match" in result.stdout
    assert "differs" not in result.stdout

    code[0].outputs[0].text = code[0].outputs[0].text.replace("total 33", "total 34")
    (chart,) = [o for o in code[1].outputs if "image/png" in o.get("data", {})]
    picture = Image.open(io.BytesIO(base64.b64decode(chart.data["image/png"])))
    buffer = io.BytesIO()
    Image.new("RGB", picture.size, "white").save(buffer, format="PNG")
    chart.data["image/png"] = base64.b64encode(buffer.getvalue()).decode()
    tampered = exported.parent / "tampered.ipynb"
    nbformat.write(notebook, tampered)

    shown = analyst("rerun", str(tampered), "-f", str(exported.parent / "sales.csv"))
    as_json = analyst("rerun", str(tampered), "-f", str(exported.parent / "sales.csv"), "--json")

    assert shown.exit_code == 1, shown.output
    assert "3 of 5 cells match" in shown.stdout
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["all_match"] is False
    assert report["template"] == "default"
    assert report["inputs"][0]["status"] == "ok"
    statuses = [(cell["cell"], cell["status"]) for cell in report["cells"]]
    assert statuses == [(1, "differs"), (2, "differs"), (3, "match"), (4, "match"), (5, "match")]
    assert "'total 34" in report["cells"][0]["detail"]
    assert "of the pixels differ" in report["cells"][1]["detail"]


def test_input_files_that_are_not_the_notebooks_are_refused(analyst, exported: Path) -> None:  # type: ignore[no-untyped-def]
    other = exported.parent / "elsewhere"
    other.mkdir()
    (other / "sales.csv").write_bytes(CSV.replace(b"14", b"15"))

    missing = analyst("rerun", str(exported))
    changed = analyst("rerun", str(exported), "--file", str(other / "sales.csv"))
    anyway = analyst(
        "rerun", str(exported), "--file", str(other / "sales.csv"), "--allow-mismatch", "--json"
    )

    assert missing.exit_code == 2
    assert "sales.csv was not given" in missing.stderr
    assert changed.exit_code == 2
    assert "is not the notebook's input file" in changed.stderr
    assert anyway.exit_code == 1  # ran, and the total is another
    assert "warning" in anyway.stderr
    assert json.loads(anyway.stdout)["cells"][0]["status"] == "differs"
