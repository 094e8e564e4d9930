"""Time limits, interrupts and restarts on a gateway kernel."""

from __future__ import annotations

import asyncio

from sandbox_analyst.sandbox.gateway import GatewaySandbox
from sandbox_analyst.sandbox.models import SandboxErrorName

IGNORES_INTERRUPTS = """
import time
while True:
    try:
        time.sleep(0.2)
    except KeyboardInterrupt:
        pass
"""


async def test_a_timeout_interrupts_the_code_and_keeps_the_state(
    sandbox: GatewaySandbox,
) -> None:
    await sandbox.run_code("kept = 'yes'")
    execution = await sandbox.run_code("import time\nprint('started')\ntime.sleep(60)", timeout=2)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert "KeyboardInterrupt" in execution.error.traceback
    assert execution.logs.stdout == ["started\n"]
    assert sandbox.generation == 0
    assert (await sandbox.run_code("kept")).text == "'yes'"


async def test_code_that_ignores_the_interrupt_gets_a_restarted_kernel(
    sandbox: GatewaySandbox,
) -> None:
    await sandbox.run_code("lost = 1\nopen('kept.txt', 'w').write('file')")
    reported = []
    execution = await sandbox.run_code(IGNORES_INTERRUPTS, timeout=1, on_error=reported.append)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.RESTARTED
    assert execution.state_lost
    assert reported == [execution.error]
    assert sandbox.generation == 1
    after = await sandbox.run_code("import os\n(os.path.exists('kept.txt'), 'lost' in dir())")
    assert after.text == "(True, False)"
    # The new kernel has our conventions again: a figure as the last value, once.
    figure = await sandbox.run_code(
        "import matplotlib.pyplot as plt\nfig = plt.figure(); plt.plot([1]); fig"
    )
    assert [bool(result.png) for result in figure.results] == [True]


async def test_interrupt_stops_the_running_code(sandbox: GatewaySandbox) -> None:
    started = asyncio.Event()
    running = asyncio.create_task(
        sandbox.run_code(
            "import time\nprint('go', flush=True)\ntime.sleep(60)",
            on_stdout=lambda _text: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 30)
    await sandbox.interrupt()
    execution = await asyncio.wait_for(running, 30)
    assert execution.error is not None
    assert execution.error.name == "KeyboardInterrupt"
    assert sandbox.generation == 0


async def test_restart_clears_variables_and_keeps_files(sandbox: GatewaySandbox) -> None:
    await sandbox.files.write("data.csv", b"a\n1\n")
    await sandbox.run_code("gone = True")
    await sandbox.restart()
    assert sandbox.generation == 1
    execution = await sandbox.run_code(
        "import pandas as pd\n('gone' in dir(), int(pd.read_csv('data.csv')['a'][0]))"
    )
    assert execution.text == "(False, 1)"


async def test_a_cancelled_call_leaves_the_session_usable(sandbox: GatewaySandbox) -> None:
    started = asyncio.Event()
    running = asyncio.create_task(
        sandbox.run_code(
            "import time\nstate = 'before'\nprint('go', flush=True)\ntime.sleep(60)",
            on_stdout=lambda _text: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 30)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    execution = await sandbox.run_code("state", timeout=30)
    assert execution.error is None
    assert execution.text == "'before'"
    assert sandbox.generation == 0
