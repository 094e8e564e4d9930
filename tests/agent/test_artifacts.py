"""Charts and files the code makes are saved through the sink and linked by their stored URL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from sandbox_analyst.agent import AgentConfig, ArtifactEvent, FigureNamer, ToolResultEvent
from sandbox_analyst.agent.artifact_limits import NO_ARTIFACTS, ArtifactBudget, ArtifactUsage
from sandbox_analyst.agent.artifacts import (
    CallArtifacts,
    InvalidImage,
    WorkdirSnapshot,
    result_image,
)
from sandbox_analyst.agent.tools import TurnState
from sandbox_analyst.sandbox import Result
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.agent.conftest import SALES_CSV, MemorySink, code_call, of_type, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_DATA = base64.b64encode(PNG_MAGIC + b"\0" * 16).decode()
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


CHARTS = (
    "import matplotlib.pyplot as plt\n"
    "for index in range({count}):\n"
    "    plt.figure()\n"
    "    plt.plot([0, index])\n"
    "    plt.show()\n"
    "print('drawn')"
)


async def test_charts_beyond_the_per_call_limit_are_dropped_and_the_model_is_told(
    make_agent, sink: MemorySink
) -> None:
    agent = make_agent(code_call(CHARTS.format(count=12)), Turn(text="ok"), max_figures_per_call=5)

    events = await run_turn(agent, "Chart each one.")

    saved = [event.artifact.name for event in of_type(events, ArtifactEvent)]
    assert saved == [f"figure-{n}.png" for n in range(1, 6)]
    (result,) = of_type(events, ToolResultEvent)
    assert result.success
    assert result.stdout == "drawn\n"
    assert "7 charts were not saved: only 5 figures are saved per run" in result.observation


async def test_one_call_saves_at_most_its_byte_budget_of_charts_and_files(
    make_agent, sink: MemorySink
) -> None:
    code = "for index in range(3):\n    open(f'part-{index}.bin', 'wb').write(b'x' * 20_000)"
    agent = make_agent(code_call(code), Turn(text="ok"), max_call_artifact_bytes=50_000)

    events = await run_turn(agent, "Write parts.")

    assert len(of_type(events, ArtifactEvent)) == 2
    (result,) = of_type(events, ToolResultEvent)
    assert "not saved (one run may save 50,000 bytes of charts and files in all)" in (
        result.observation
    )


async def test_the_conversation_limits_count_what_earlier_turns_saved(
    make_agent, sink: MemorySink
) -> None:
    agent = make_agent(
        code_call(CHARTS.format(count=2)),
        Turn(text="ok"),
        artifacts_before=ArtifactUsage(count=999, bytes=1000),
        max_conversation_artifacts=1000,
    )

    events = await run_turn(agent, "Two charts.")

    assert len(of_type(events, ArtifactEvent)) == 1
    (result,) = of_type(events, ToolResultEvent)
    assert "already holds 1,000 saved charts and files, its limit" in result.observation


async def test_a_fifo_or_socket_written_by_the_code_is_skipped_and_the_turn_goes_on(
    make_agent, sink: MemorySink
) -> None:
    code = (
        "import os, socket\n"
        "os.mkfifo('pipe')\n"
        "server = socket.socket(socket.AF_UNIX)\n"
        "server.bind('service.sock')\n"
        "open('result.csv', 'w').write('a\\n1\\n')"
    )
    agent = make_agent(code_call(code), Turn(text="done"))

    events = await run_turn(agent, "Make them.")

    assert [event.artifact.name for event in of_type(events, ArtifactEvent)] == ["result.csv"]
    (result,) = of_type(events, ToolResultEvent)
    assert "- pipe: not saved (not a regular file: 'pipe')" in result.observation
    assert "- service.sock: not saved (not a regular file" in result.observation
    assert events[-1].status == "complete"


async def test_a_very_deep_tree_is_listed_within_bounds_and_said_so(
    make_agent, sandbox: LocalSandbox, sink: MemorySink
) -> None:
    code = (
        "import os\n"
        "for _ in range(1100):\n"
        "    os.mkdir('d')\n"
        "    os.chdir('d')\n"
        "os.chdir(os.path.expanduser('~'))\n"
        "open('top.csv', 'w').write('a\\n1\\n')"
    )
    agent = make_agent(code_call(code), code_call("print('next call')"), Turn(text="done"))

    events = await run_turn(agent, "Go deep.")

    assert [event.artifact.name for event in of_type(events, ArtifactEvent)] == ["top.csv"]
    first, second = of_type(events, ToolResultEvent)
    assert "deeper than 32 levels" in first.observation
    assert second.stdout == "next call\n"
    assert events[-1].status == "complete"
    await sandbox.files.remove("d")


async def test_thousands_of_files_written_by_one_call_are_summarised_for_the_model(
    make_agent, sink: MemorySink
) -> None:
    code = "for index in range(500):\n    open(f'out-{index:03}.txt', 'w').write('x')"
    agent = make_agent(code_call(code), Turn(text="ok"))

    events = await run_turn(agent, "Write many.")

    assert len(of_type(events, ArtifactEvent)) == 20
    (result,) = of_type(events, ToolResultEvent)
    assert "- 470 more files: not saved (e.g. only 20 files are saved per run)" in (
        result.observation
    )
    assert result.observation.count("not saved") == 11


async def test_an_image_that_is_not_valid_data_is_refused_not_raised() -> None:
    for bad in (Result(png="not base64!"), Result(png=12345), Result(jpeg="@@@@")):  # type: ignore[arg-type]
        with pytest.raises(InvalidImage):
            result_image(bad)


async def test_an_invalid_image_from_a_backend_is_dropped_with_a_note(sink: MemorySink) -> None:
    limits = AgentConfig().artifact_limits
    produced = CallArtifacts(sink, FigureNamer(), ArtifactBudget(limits, NO_ARTIFACTS))
    assert await produced.save_figure(Result(png="not base64!")) is None
    assert await produced.save_figure(Result(png=PNG_DATA)) is not None
    assert produced.finish() == [
        "A displayed image was dropped: its image/png is not valid base64."
    ]
    assert [stored.ref.name for stored in sink.stored.values()] == ["figure-1.png"]


async def test_a_cut_listing_counts_as_new_only_files_modified_since_it() -> None:
    taken = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    before = WorkdirSnapshot({"kept.csv": (1, taken)}, "more than 10,000 entries", taken)
    after = WorkdirSnapshot(
        {
            "kept.csv": (1, taken),
            "old-but-unlisted.csv": (5, taken - timedelta(hours=1)),  # beyond the cut before
            "written.csv": (7, taken + timedelta(seconds=3)),
        }
    )
    assert after.changed_since(before) == ["written.csv"]
    complete = WorkdirSnapshot({"kept.csv": (1, taken)}, None, taken)
    assert after.changed_since(complete) == ["old-but-unlisted.csv", "written.csv"]


def _turn_state(sandbox: LocalSandbox) -> TurnState:
    budget = ArtifactBudget(AgentConfig().artifact_limits, NO_ARTIFACTS)
    return TurnState(FigureNamer(), sandbox.generation, budget)


async def test_the_workdir_listed_as_a_turn_begins_is_its_first_calls_before(
    sandbox: LocalSandbox,
) -> None:
    await sandbox.files.write("input.csv", SALES_CSV)
    state = _turn_state(sandbox)
    state.list_ahead(sandbox)
    before = await state.listing_before(sandbox)
    assert set(before.files) == {"input.csv"}


async def test_a_listing_forgotten_while_under_way_is_taken_again(sandbox: LocalSandbox) -> None:
    """A tool that changes the workdir (bash, write_file) forgets the listing: the next call's
    "before" then has the change, whether or not the listing ahead had finished."""
    state = _turn_state(sandbox)
    state.list_ahead(sandbox)
    state.forget_listing()
    await sandbox.files.write("written-by-a-tool.txt", b"x")
    before = await state.listing_before(sandbox)
    assert "written-by-a-tool.txt" in before.files
    state.close()
