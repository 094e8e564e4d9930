"""The tools team roles use besides the single agent's: `read_file` and `write_file` (text in
the workdir, never outside it) and `generate_chart` (a chart of a data file, saved as an
image), each reporting bad input to the model as an observation."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import ToolResultEvent, analyst_tools
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import Turn
from tests.agent.conftest import MemorySink, of_type, run_turn, upload

pytestmark = pytest.mark.asyncio(loop_scope="session")
DONE = Turn(text="Done.")
SALES = b"region,month,units\nnorth,1,3\nsouth,1,5\nnorth,2,4\nsouth,2,9\n"


def calls(*steps: tuple[str, dict]) -> list[Turn]:
    return [Turn(tool_calls=[step]) for step in steps] + [DONE]


async def results(make_agent, *steps: tuple[str, dict]) -> list[ToolResultEvent]:
    agent = make_agent(*calls(*steps), tools=analyst_tools())
    return of_type(await run_turn(agent, "Go."), ToolResultEvent)


async def test_write_file_then_read_file_round_trips_text_and_saves_the_file(
    make_agent, sink: MemorySink, sandbox: LocalSandbox
) -> None:
    written, read = await results(
        make_agent,
        ("write_file", {"path": "notes/summary.md", "content": "# Findings\nTwo outliers.\n"}),
        ("read_file", {"path": "notes/summary.md"}),
    )

    assert written.success, written.observation
    assert "wrote 25 bytes to notes/summary.md" in written.observation
    assert sink.by_name("summary.md").data == b"# Findings\nTwo outliers.\n"
    assert read.success
    assert read.stdout == "# Findings\nTwo outliers.\n"
    execution = await sandbox.run_code("print(open('notes/summary.md').read().split()[1])")
    assert execution.logs.stdout == ["Findings\n"]


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "notes/../../x"])
async def test_paths_outside_the_workdir_are_refused(make_agent, path: str) -> None:
    wrote, read = await results(
        make_agent,
        ("write_file", {"path": path, "content": "x"}),
        ("read_file", {"path": path}),
    )

    for result in (wrote, read):
        assert not result.success
        assert result.error["name"] == "InvalidArguments"
        assert "working directory" in result.error["value"]


async def test_reading_a_binary_or_missing_file_is_explained(
    make_agent, sandbox: LocalSandbox
) -> None:
    await sandbox.files.write("blob.bin", b"\x00\x01\x02" * 10)

    binary, missing = await results(
        make_agent, ("read_file", {"path": "blob.bin"}), ("read_file", {"path": "nope.txt"})
    )

    assert binary.error["name"] == "BinaryFile"
    assert "preview_file" in binary.observation
    assert missing.error["name"] == "FileNotFoundError"


@pytest.mark.parametrize(
    ("chart", "drawn"),
    [
        ({"chart_type": "bar", "x": "region", "y": "units"}, "2 bars"),
        ({"chart_type": "bar", "x": "region"}, "2 bars"),
        ({"chart_type": "line", "x": "month", "y": "units"}, "4 points"),
        ({"chart_type": "scatter", "x": "month", "y": "units"}, "4 points"),
        ({"chart_type": "histogram", "x": "units"}, "4 values"),
        ({"chart_type": "box", "y": "units"}, "4 values"),
        ({"chart_type": "box", "x": "region", "y": "units"}, "2 groups"),
    ],
)
async def test_generate_chart_draws_each_chart_type_as_a_png_artifact(
    make_agent, sink: MemorySink, sandbox: LocalSandbox, chart: dict, drawn: str
) -> None:
    await upload(sandbox, "sales.csv", SALES, "text/csv")

    (result,) = await results(
        make_agent, ("generate_chart", {"data_file": "sales.csv", "title": "Units", **chart})
    )

    assert result.success, result.observation
    assert drawn in result.observation
    (saved,) = sink.stored.values()
    assert saved.ref.media_type == "image/png"
    assert saved.data.startswith(b"\x89PNG")
    assert f"![{saved.ref.name}]({saved.ref.url})" in result.observation
    # Drawn in a namespace of its own: the session's variables are untouched.
    assert (await sandbox.run_code("frame")).error is not None


@pytest.mark.parametrize(
    ("chart", "error"),
    [
        ({"chart_type": "pie", "x": "region"}, "must be one of bar, line"),
        ({"chart_type": "scatter", "x": "month"}, 'needs "y"'),
        ({"chart_type": "bar", "x": "colour"}, "no column 'colour' in sales.csv; columns: region"),
        ({"chart_type": "bar", "x": "region", "data_file": "missing.csv"}, "try list_files"),
    ],
)
async def test_generate_chart_explains_what_it_cannot_draw(
    make_agent, sink: MemorySink, sandbox: LocalSandbox, chart: dict, error: str
) -> None:
    await upload(sandbox, "sales.csv", SALES, "text/csv")

    (result,) = await results(make_agent, ("generate_chart", {"data_file": "sales.csv", **chart}))

    assert not result.success
    assert error in result.observation
    assert sink.stored == {}


async def test_a_large_file_is_read_only_in_part_and_the_model_is_told(
    make_agent, sandbox: LocalSandbox
) -> None:
    await sandbox.files.write("big.txt", b"line of text\n" * 30_000)

    (read,) = await results(make_agent, ("read_file", {"path": "big.txt"}))

    assert read.success
    assert len(read.stdout) == 256 * 1024
    assert "Only the first 262,144 bytes were read." in read.observation
