"""Charts and files the code makes are saved through the sink and linked by their stored URL."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import ArtifactEvent, ToolResultEvent
from sandbox_analyst.sandbox import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.agent.conftest import SALES_CSV, MemorySink, code_call, of_type, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BAR_CHART = (
    "import matplotlib.pyplot as plt\n"
    "plt.bar(['north', 'south'], [120.5, 200.25])\n"
    "plt.title('Revenue by region')\n"
    "plt.show()"
)


def answer_with_links(body: dict) -> Turn:
    """A model that shows what the tool returned under `files`, as the prompt asks."""
    observation = last_tool_result(body) or ""
    links = [line.split(": ", 1)[1] for line in observation.splitlines() if "](" in line]
    return Turn(text="Here it is: " + " ".join(links))


async def test_chart_is_saved_as_png_and_linked_in_the_observation(
    make_agent, sink: MemorySink, fake: FakeLLMServer
) -> None:
    agent = make_agent(code_call(BAR_CHART), answer_with_links)

    events = await run_turn(agent, "Chart revenue by region.")

    (artifact,) = of_type(events, ArtifactEvent)
    ref = artifact.artifact
    assert ref.name == "figure-1.png"
    assert ref.media_type == "image/png"
    stored = sink.stored[ref.file_id]
    assert stored.data.startswith(PNG_MAGIC)
    assert ref.size == len(stored.data)
    markdown = f"![figure-1.png]({ref.url})"
    assert ref.markdown == markdown
    assert markdown in last_tool_result(fake.model_requests[1].json)
    assert events[-1].content == f"Here it is: {markdown}"


async def test_figures_are_numbered_across_the_turn(make_agent, sink: MemorySink) -> None:
    agent = make_agent(code_call(BAR_CHART), code_call(BAR_CHART + "\nplt.plot([1, 2])"), Turn())

    events = await run_turn(agent, "Two charts.")

    names = [event.artifact.name for event in of_type(events, ArtifactEvent)]
    assert names == ["figure-1.png", "figure-2.png", "figure-3.png"]


async def test_svg_figure_is_saved_as_svg(make_agent, sink: MemorySink) -> None:
    code = (
        "from IPython.display import SVG, display\n"
        'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg"><circle r="3"/></svg>\'))'
    )
    agent = make_agent(code_call(code), Turn(text="ok"))

    (artifact,) = of_type(await run_turn(agent, "Draw."), ArtifactEvent)

    assert artifact.artifact.name == "figure-1.svg"
    assert b"<circle" in sink.by_name("figure-1.svg").data


async def test_files_written_by_code_are_saved_but_unchanged_inputs_are_not(
    make_agent, sandbox: LocalSandbox, sink: MemorySink
) -> None:
    sales = await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    await sandbox.files.write("notes/readme.txt", b"untouched")
    code = (
        "import os, pandas as pd\n"
        "df = pd.read_csv('sales.csv')\n"
        "os.makedirs('out')\n"
        "df.groupby('region').revenue.sum().to_csv('by_region.csv')\n"
        "df.to_excel('out/sales.xlsx')\n"
        "open('.hidden.txt', 'w').write('tooling')"
    )
    agent = make_agent(code_call(code), Turn(text="Saved."))

    events = await run_turn(agent, "Export it.", [sales])

    names = sorted(event.artifact.name for event in of_type(events, ArtifactEvent))
    assert names == ["by_region.csv", "sales.xlsx"]
    csv = sink.by_name("by_region.csv")
    assert csv.ref.media_type == "text/csv"
    assert csv.data == await sandbox.files.read_bytes("by_region.csv")
    assert csv.data.startswith(b"region,revenue\n")
    assert sink.by_name("sales.xlsx").data.startswith(b"PK")  # a zip, as xlsx files are
    (result,) = of_type(events, ToolResultEvent)
    assert f"[by_region.csv]({csv.ref.url})" in result.observation


async def test_an_input_rewritten_by_code_is_saved(
    make_agent, sandbox: LocalSandbox, sink: MemorySink
) -> None:
    sales = await upload(sandbox, "sales.csv", SALES_CSV, "text/csv")
    code = "open('sales.csv', 'a').write('central,1,1.0\\n')"
    agent = make_agent(code_call(code), Turn(text="Appended."))

    (artifact,) = of_type(await run_turn(agent, "Add a row.", [sales]), ArtifactEvent)

    assert artifact.artifact.name == "sales.csv"
    assert sink.by_name("sales.csv").data.endswith(b"central,1,1.0\n")


async def test_files_over_the_size_limit_are_skipped_and_the_model_is_told(
    make_agent, sink: MemorySink
) -> None:
    code = "open('big.bin', 'wb').write(b'0' * 5000)\nopen('small.txt', 'w').write('ok')"
    agent = make_agent(code_call(code), Turn(text="ok"), max_artifact_bytes=1000)

    events = await run_turn(agent, "Write files.")

    assert [event.artifact.name for event in of_type(events, ArtifactEvent)] == ["small.txt"]
    (result,) = of_type(events, ToolResultEvent)
    assert "- big.bin: not saved (5,000 bytes is over the 1,000 byte limit" in result.observation


async def test_a_chart_the_sink_cannot_save_is_reported_and_the_run_goes_on(
    make_agent, sink: MemorySink
) -> None:
    sink.refuse.add("figure-1.png")
    agent = make_agent(code_call(BAR_CHART + "\nprint('after the chart')"), Turn(text="ok"))

    events = await run_turn(agent, "Chart it.")

    (result,) = of_type(events, ToolResultEvent)
    assert result.success
    assert result.stdout == "after the chart\n"
    assert "figure-1.png could not be saved" in result.observation
    assert "No space left on device" in result.observation
    assert of_type(events, ArtifactEvent) == []
    assert events[-1].status == "complete"
