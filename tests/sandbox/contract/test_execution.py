"""Running Python code: state, every output kind, errors, streaming, per-execution variables."""

from __future__ import annotations

import asyncio
import base64

import pytest

from sandbox_analyst.sandbox import Sandbox, SandboxProvider, SandboxUsageError

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_state_persists_across_calls(sandbox: Sandbox) -> None:
    await sandbox.run_code("import math\nvalues = [1, 2, 3]")
    await sandbox.run_code("values.append(math.floor(4.7))")
    execution = await sandbox.run_code("sum(values)")
    assert execution.error is None
    assert execution.text == "10"


async def test_files_written_by_code_persist(sandbox: Sandbox) -> None:
    await sandbox.run_code("open('notes.txt', 'w').write('kept')")
    execution = await sandbox.run_code("(open('notes.txt').read(),)")
    assert execution.text == "('kept',)"
    assert await sandbox.files.read_bytes("notes.txt") == b"kept"


async def test_last_expression_is_the_main_result(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code("x = 2\nx * 21")
    assert [result.is_main_result for result in execution.results] == [True]
    assert execution.text == "42"
    assert execution.execution_count is not None


async def test_statement_without_value_has_no_result(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code("y = 1")
    assert execution.results == []
    assert execution.error is None


async def test_dataframe_has_text_and_html(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import pandas as pd\npd.DataFrame({'city': ['Oslo', 'Lima'], 'n': [3, 4]})"
    )
    (result,) = execution.results
    assert "Oslo" in result.text
    assert "<table" in result.html


async def test_display_calls_are_results_in_order(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "from IPython.display import display, HTML, Markdown, SVG\n"
        "display(HTML('<b>bold</b>'))\n"
        "display(Markdown('# Title'))\n"
        'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg"><circle r="3"/></svg>\'))\n'
        "display({'a': 1}, raw=False)\n"
    )
    html, markdown, svg, mapping = execution.results
    assert html.html == "<b>bold</b>"
    assert not html.is_main_result
    assert markdown.markdown == "# Title"
    assert "<circle" in svg.svg
    assert mapping.text == "{'a': 1}"


async def test_json_and_unknown_mime_types(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "from IPython.display import display, JSON\n"
        "display(JSON({'k': [1, 2]}))\n"
        "display({'application/vnd.plotly.v1+json': {'data': [{'y': [1]}]}, "
        "'text/plain': 'Figure'}, raw=True)\n"
    )
    json_result, plotly = execution.results
    assert json_result.json == {"k": [1, 2]}
    assert plotly.extra == {"application/vnd.plotly.v1+json": {"data": [{"y": [1]}]}}
    assert plotly.text == "Figure"


async def test_figures_are_captured_as_png_and_closed(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\n"
        "plt.figure(); plt.plot([1, 2, 3])\n"
        "plt.figure(); plt.bar(['a', 'b'], [3, 4])\n"
        "None"
    )
    pngs = [result.png for result in execution.results if result.png]
    assert len(pngs) == 2
    assert all(base64.b64decode(png).startswith(PNG_MAGIC) for png in pngs)
    after = await sandbox.run_code("len(plt.get_fignums())")
    assert after.text == "0"


async def test_figure_returned_as_last_expression_appears_once(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nfig"
    )
    assert len([result for result in execution.results if result.png]) == 1
    assert execution.results[0].is_main_result


async def test_plt_show_emits_the_figure_once(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\nplt.plot([1, 5])\nplt.show()"
    )
    assert len([result for result in execution.results if result.png]) == 1
    assert execution.logs.stderr == []  # no "Agg is non-interactive" warning


async def test_magics_work(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code("%timeit -n 2 -r 1 sum(range(10))")
    assert execution.error is None
    assert "per loop" in "".join(execution.logs.stdout)


async def test_error_has_name_value_and_plain_traceback(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "def inner():\n    raise ValueError('bad value')\n\ndef outer():\n    inner()\n\nouter()"
    )
    error = execution.error
    assert error is not None
    assert (error.name, error.value) == ("ValueError", "bad value")
    assert "\x1b[" not in error.traceback
    assert "raise ValueError('bad value')" in error.traceback  # shows the user's lines
    assert "inner()" in error.traceback


async def test_syntax_error_is_reported(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code("def broken(:\n    pass")
    assert execution.error is not None
    assert execution.error.name == "SyntaxError"


async def test_output_before_an_error_is_kept(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code("print('step 1')\nraise KeyError('k')")
    assert execution.logs.stdout == ["step 1\n"]
    assert execution.error is not None
    assert execution.error.name == "KeyError"


async def test_warnings_on_stderr_are_logs_not_errors(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import warnings\nwarnings.warn('deprecated thing', DeprecationWarning, stacklevel=1)\n"
        "import sys\nprint('careful', file=sys.stderr)\n7"
    )
    assert execution.error is None
    assert execution.text == "7"
    assert "careful" in "".join(execution.logs.stderr)


async def test_subprocess_output_is_captured(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import subprocess\nsubprocess.run(['echo', 'from a child process'])\nNone"
    )
    assert "from a child process" in "".join(execution.logs.stdout)


async def test_callbacks_fire_before_the_call_returns(sandbox: Sandbox) -> None:
    seen: list[str] = []
    first_line = asyncio.Event()

    def on_stdout(text: str) -> None:
        seen.append(text)
        first_line.set()

    task = asyncio.create_task(
        sandbox.run_code(
            "import time\nprint('started', flush=True)\ntime.sleep(1.5)\nprint('finished')",
            on_stdout=on_stdout,
        )
    )
    await asyncio.wait_for(first_line.wait(), 20)
    assert not task.done()
    assert seen == ["started\n"]
    execution = await task
    assert "".join(execution.logs.stdout) == "started\nfinished\n"


async def test_async_callbacks_receive_results_and_errors(sandbox: Sandbox) -> None:
    results, errors = [], []

    async def on_result(result: object) -> None:
        results.append(result)

    async def on_error(error: object) -> None:
        errors.append(error)

    await sandbox.run_code("1 + 1", on_result=on_result, on_error=on_error)
    await sandbox.run_code("undefined_name", on_result=on_result, on_error=on_error)
    assert [result.text for result in results] == ["2"]
    assert [error.name for error in errors] == ["NameError"]


async def test_numpy_random_differs_between_sessions(provider: SandboxProvider) -> None:
    first, second = await provider.create(), await provider.create()
    try:
        code = "import numpy as np\nnp.random.rand()"
        a, b = await first.run_code(code), await second.run_code(code)
        assert a.text != b.text
    finally:
        await first.close()
        await second.close()


async def test_env_vars_are_visible_to_that_execution_only(sandbox: Sandbox) -> None:
    execution = await sandbox.run_code(
        "import os, subprocess\n"
        "child = subprocess.run(['sh', '-c', 'echo $REGION'], capture_output=True, text=True)\n"
        "os.environ.get('REGION'), child.stdout.strip()",
        env_vars={"REGION": "north"},
    )
    assert execution.text == "('north', 'north')"
    after = await sandbox.run_code("'REGION' in os.environ")
    assert after.text == "False"


@pytest.mark.parametrize("env_vars", [{"A=B": "x"}, {"": "x"}, {"NUL": "a\x00b"}])
async def test_env_vars_no_environment_can_hold_are_refused(
    sandbox: Sandbox, env_vars: dict[str, str]
) -> None:
    with pytest.raises(SandboxUsageError):
        await sandbox.run_code("1", env_vars=env_vars)
    assert (await sandbox.run_code("2")).text == "2"


async def test_an_unknown_language_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxUsageError, match="cobol"):
        await sandbox.run_code("DISPLAY 'HI'", language="cobol")  # type: ignore[arg-type]


@pytest.mark.cannot_hold(
    "e2b",
    "E2B reports no peak memory: its only memory figure is the current one of its metrics "
    "endpoint (sampled every few seconds on E2B's VMs), so E2B executions carry "
    "peak_memory_bytes=None",
)
async def test_every_execution_reports_the_peak_memory_so_far(sandbox: Sandbox) -> None:
    assert (await sandbox.run_code("true", language="bash")).peak_memory_bytes is not None
    small = await sandbox.run_code("1 + 1")
    # 320 MB: well above what the interpreter's own start-up may have peaked at before.
    big = await sandbox.run_code("import numpy as np\nblock = np.ones(40_000_000)")
    freed = await sandbox.run_code("del block")
    assert small.peak_memory_bytes is not None
    assert big.peak_memory_bytes is not None
    assert big.peak_memory_bytes >= small.peak_memory_bytes + 200_000_000
    assert freed.peak_memory_bytes is not None
    assert freed.peak_memory_bytes >= big.peak_memory_bytes  # a peak, not the current size
    assert (await sandbox.info()).peak_memory_bytes >= big.peak_memory_bytes


@pytest.mark.cannot_hold(
    "e2b",
    "E2B reports no CPU time per execution (its metrics endpoint samples a VM-wide CPU "
    "percentage every few seconds), so E2B executions carry cpu_seconds=None",
)
async def test_every_execution_reports_the_cpu_time_its_code_used(sandbox: Sandbox) -> None:
    busy = await sandbox.run_code("sum(i * i for i in range(3_000_000))")
    asleep = await sandbox.run_code("import time\ntime.sleep(1)")
    child = await sandbox.run_code(
        "python3 -c 'sum(i * i for i in range(3_000_000))'", language="bash"
    )
    assert busy.cpu_seconds is not None
    assert busy.cpu_seconds > 0
    assert asleep.cpu_seconds is not None
    assert asleep.cpu_seconds < 0.5  # a second asleep is not a second of CPU
    assert child.cpu_seconds is not None
    assert child.cpu_seconds > 0  # its finished subprocess's time is counted
