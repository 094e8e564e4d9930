"""Running code on the E2B backend, where it differs from (or goes beyond) the contract: E2B's
rich results arrive as our results, a string arrives as E2B sends it (its value, unquoted),
an interrupt goes through E2B's only means (closing the stream)."""

from __future__ import annotations

import asyncio
import base64

import pytest

from sandbox_analyst.sandbox.e2b import E2BSandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_chart_and_a_dataframe_arrive_as_results(sandbox: E2BSandbox) -> None:
    execution = await sandbox.run_code(
        "import pandas as pd, matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({'city': ['a', 'b'], 'sales': [1, 2]})\n"
        "df.plot.bar(x='city'); plt.show()\n"
        "df"
    )
    assert execution.error is None
    [chart] = [result for result in execution.results if result.png]
    assert base64.b64decode(chart.png).startswith(b"\x89PNG")
    [table] = [result for result in execution.results if result.is_main_result]
    assert "<table" in table.html
    assert "sales" in table.text


async def test_a_string_value_arrives_unquoted_as_e2b_sends_it(sandbox: E2BSandbox) -> None:
    assert (await sandbox.run_code("'abc'")).text == "abc"
    assert (await sandbox.run_code("('abc',)")).text == "('abc',)"


async def test_interrupt_closes_the_stream_and_keeps_the_state(sandbox: E2BSandbox) -> None:
    await sandbox.run_code("kept = 1")
    started = asyncio.Event()
    running = asyncio.create_task(
        sandbox.run_code(
            "import time\nprint('go', flush=True)\ntime.sleep(60)",
            on_stdout=lambda _text: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 20)
    await sandbox.interrupt()
    execution = await asyncio.wait_for(running, 30)
    assert execution.error is not None
    assert execution.error.name == "KeyboardInterrupt"
    assert execution.logs.stdout == ["go\n"]
    assert sandbox.generation == 0
    assert (await sandbox.run_code("kept + 1")).text == "2"


async def test_output_beyond_the_limit_is_cut_with_a_note(sandbox: E2BSandbox) -> None:
    limit = sandbox._settings.output_limit
    execution = await sandbox.run_code(f"print('x' * {limit + 5000})")
    assert sum(len(text) for text in execution.logs.stdout) == limit
    assert "output truncated" in execution.logs.stderr[-1]


async def test_info_says_what_e2b_tells(sandbox: E2BSandbox) -> None:
    await sandbox.run_code("1")
    info = await sandbox.info()
    assert info.sandbox_id == sandbox.sandbox_id
    assert info.workdir == "/home/user"
    assert info.executions >= 1
    assert info.pid is None  # E2B names no process
    assert info.peak_memory_bytes is None
