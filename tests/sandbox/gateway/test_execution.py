"""Running Python on a gateway kernel: the same `Execution` model as the local backend."""

from __future__ import annotations

import asyncio
import base64

from sandbox_analyst.sandbox.gateway import GatewaySandbox
from sandbox_analyst.sandbox.models import Result
from tests.sandbox.gateway.conftest import started_gateway_provider
from tests.sandbox.gateway.gateway_process import GatewayProcess

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _pngs(results: list[Result]) -> list[bytes]:
    return [base64.b64decode(result.png) for result in results if result.png]


async def test_the_last_expression_is_the_main_result(sandbox: GatewaySandbox) -> None:
    execution = await sandbox.run_code("x = 20\nx + 22")
    assert execution.error is None
    assert execution.text == "42"
    assert [result.is_main_result for result in execution.results] == [True]


async def test_variables_persist_and_execution_count_grows(sandbox: GatewaySandbox) -> None:
    first = await sandbox.run_code("import pandas as pd\nframe = pd.DataFrame({'a': [1, 2, 3]})")
    second = await sandbox.run_code("int(frame['a'].sum())")
    assert first.error is None
    assert second.error is None
    assert second.text == "6"
    assert first.execution_count is not None
    assert second.execution_count == first.execution_count + 1


async def test_rich_outputs_arrive_as_mime_bundles(sandbox: GatewaySandbox) -> None:
    execution = await sandbox.run_code(
        "import pandas as pd\n"
        "from IPython.display import display, HTML, Markdown\n"
        "display(HTML('<b>bold</b>'))\n"
        "display(Markdown('# title'))\n"
        "display({'application/vnd.custom+json': {'k': 1}}, raw=True)\n"
        "pd.DataFrame({'a': [1]})"
    )
    assert execution.error is None
    html, markdown, custom, frame = execution.results
    assert html.html == "<b>bold</b>"
    assert not html.is_main_result
    assert markdown.markdown == "# title"
    assert custom.extra == {"application/vnd.custom+json": {"k": 1}}
    assert frame.is_main_result
    assert frame.html is not None
    assert "<table" in frame.html


async def test_a_figure_returned_as_the_last_expression_appears_once(
    sandbox: GatewaySandbox,
) -> None:
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\n"
        "figure, axes = plt.subplots()\naxes.plot([1, 2, 3])\nfigure"
    )
    assert execution.error is None
    images = _pngs(execution.results)
    assert len(images) == 1
    assert images[0].startswith(PNG_MAGIC)


async def test_open_figures_are_shown_once_at_the_end_of_the_cell(
    sandbox: GatewaySandbox,
) -> None:
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\n"
        "plt.figure(); plt.plot([1, 2])\n"
        "plt.show()\n"  # shown here, not again at the end
        "plt.figure(); plt.bar(['a'], [3])\n"
        "None"
    )
    assert execution.error is None
    assert len(_pngs(execution.results)) == 2
    again = await sandbox.run_code("1")
    assert _pngs(again.results) == []  # closed after the cell: nothing left over


async def test_an_empty_figure_is_not_an_image(sandbox: GatewaySandbox) -> None:
    execution = await sandbox.run_code("import matplotlib.pyplot as plt\nplt.figure()")
    assert _pngs(execution.results) == []


async def test_a_display_updated_in_the_same_cell_keeps_its_last_state(
    sandbox: GatewaySandbox,
) -> None:
    execution = await sandbox.run_code(
        "from IPython.display import display\n"
        "handle = display('draft', display_id=True)\n"
        "handle.update('final')"
    )
    assert execution.error is None
    assert [result.text for result in execution.results] == ["'final'"]


async def test_stdout_and_stderr_stream_while_the_code_runs(sandbox: GatewaySandbox) -> None:
    seen: list[str] = []
    first_chunk = asyncio.Event()

    def on_stdout(text: str) -> None:
        seen.append(text)
        first_chunk.set()

    errors: list[str] = []
    running = asyncio.create_task(
        sandbox.run_code(
            "import sys, time\nprint('early', flush=True)\ntime.sleep(1.5)\n"
            "print('late')\nprint('oops', file=sys.stderr)",
            on_stdout=on_stdout,
            on_stderr=errors.append,
        )
    )
    await asyncio.wait_for(first_chunk.wait(), 30)
    assert not running.done()  # the first line came while the cell was still sleeping
    execution = await running
    assert "".join(seen) == "early\nlate\n"
    assert "".join(execution.logs.stdout) == "early\nlate\n"
    assert "".join(errors) == "oops\n" == "".join(execution.logs.stderr)


async def test_an_exception_comes_back_as_the_execution_error(sandbox: GatewaySandbox) -> None:
    reported = []
    execution = await sandbox.run_code(
        "def inner():\n    raise ValueError('bad value')\ninner()", on_error=reported.append
    )
    assert execution.error is not None
    assert execution.error.name == "ValueError"
    assert execution.error.value == "bad value"
    assert "inner()" in execution.error.traceback
    assert "\x1b[" not in execution.error.traceback  # plain text, no terminal colours
    assert reported == [execution.error]
    # A failed cell does not stop the next one.
    assert (await sandbox.run_code("'still alive'")).text == "'still alive'"


async def test_input_is_refused_instead_of_hanging(sandbox: GatewaySandbox) -> None:
    execution = await sandbox.run_code("input('name? ')", timeout=20)
    assert execution.error is not None
    assert execution.error.name == "StdinNotImplementedError"


async def test_each_execution_reports_the_sessions_peak_memory(sandbox: GatewaySandbox) -> None:
    small = await sandbox.run_code("1")
    large = await sandbox.run_code("block = bytearray(200 * 1024 * 1024); len(block)")
    assert small.peak_memory_bytes is not None
    assert large.peak_memory_bytes is not None
    assert large.peak_memory_bytes >= small.peak_memory_bytes + 150 * 1024 * 1024
    info = await sandbox.info()
    assert info.peak_memory_bytes is not None
    assert info.peak_memory_bytes >= large.peak_memory_bytes
    assert info.pid is not None
    assert info.memory_bytes > 0
    assert info.executions == 2


async def test_output_beyond_the_limit_is_cut_and_said_so(
    kernel_gateway: GatewayProcess,
) -> None:
    async with started_gateway_provider(
        kernel_gateway, sandbox={"output_limit": 10_000}
    ) as provider:
        sandbox = await provider.create()
        execution = await sandbox.run_code("print('x' * 50_000)")
    kept = "".join(execution.logs.stdout)
    assert len(kept) == 10_000
    assert "output truncated" in "".join(execution.logs.stderr)
