"""`SandboxManager` on the local pool: the `async with` pattern, Python state and rich
results, bash in the same working directory, streamed output, secrets, resource figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sandbox_analyst import SandboxManager
from sandbox_analyst.sandbox import SandboxUsageError
from sandbox_analyst.sandbox.local import LocalProvider

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_async_with_pattern_runs_python_and_bash(resident: SandboxManager) -> None:
    async with SandboxManager(template="default", env_vars={"STAGE": "test"}, timeout=20) as sm:
        assert sm.started
        python = await sm.execute_code("python", "sum(range(10))")
        bash = await sm.execute_code("bash", "echo $STAGE")
    assert python.ok
    assert python.text == "45"
    assert bash.ok
    assert bash.exit_code == 0
    assert bash.stdout == "test\n"
    assert not sm.started


async def test_no_arguments_mean_the_local_pool_with_the_effective_settings(
    sdk_environment: Path, resident: SandboxManager
) -> None:
    async with SandboxManager() as sm:
        assert sm.backend == "local"
        assert sm.location.settings.data_dir == sdk_environment
        assert isinstance(sm.provider, LocalProvider)
        assert sm.provider.pool.root == sdk_environment / "sandboxes"
        assert (sdk_environment / "sandboxes" / sm.sandbox_id).is_dir()
        # The managers open at the same time share one pool.
        assert sm.provider is resident.provider


async def test_python_keeps_its_state_across_calls(sm: SandboxManager) -> None:
    await sm.execute_code("python", "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3]})")
    await sm.execute_code("python", "df['y'] = df.x * 10")
    result = await sm.execute_code("python", "int(df.y.sum())")
    assert result.text == "60"
    assert result.execution_count == 3


async def test_python_gives_rich_results_and_errors(sm: SandboxManager) -> None:
    chart = await sm.execute_code(
        "python",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\n"
        "import pandas as pd\npd.DataFrame({'a': [1]})",
    )
    assert chart.ok
    assert any(result.png for result in chart.results)
    table = next(result for result in chart.results if result.is_main_result)
    assert table.html is not None
    assert "<table" in table.html

    failed = await sm.execute_code("python", "1 / 0")
    assert not failed.ok
    assert failed.error is not None
    assert failed.error.name == "ZeroDivisionError"
    assert "1 / 0" in failed.error.traceback


async def test_bash_runs_in_the_workdir_python_writes_to(sm: SandboxManager) -> None:
    await sm.execute_code("python", "open('report.csv', 'w').write('a,b\\n1,2\\n')")
    listed = await sm.execute_code("bash", "wc -l < report.csv && cat report.csv")
    assert listed.stdout == "2\na,b\n1,2\n"
    # ... and python sees what bash made.
    await sm.execute_code("bash", "mkdir -p out && echo done > out/flag")
    seen = await sm.execute_code("python", "open('out/flag').read().strip()")
    assert seen.text == "'done'"


async def test_bash_reports_exit_code_and_stderr(sm: SandboxManager) -> None:
    result = await sm.execute_code("bash", "echo to-out; echo to-err >&2; exit 3")
    assert result.exit_code == 3
    assert result.stdout == "to-out\n"
    assert result.stderr == "to-err\n"
    assert result.error is not None
    assert result.error.name == "CommandExitError"
    assert result.error.value == "exit code 3"


@pytest.mark.parametrize("language", ["python", "bash"])
async def test_output_streams_while_the_code_runs(sm: SandboxManager, language: str) -> None:
    """The first line reaches the callback while the code still waits for a file that the
    test writes only after it has seen that line."""
    code = {
        "python": "import os, time\nprint('ready', flush=True)\n"
        "while not os.path.exists('go'):\n    time.sleep(0.01)\nprint('done')",
        "bash": "echo ready; while [ ! -e go ]; do sleep 0.01; done; echo done",
    }[language]
    seen: list[str] = []
    ready = asyncio.Event()

    async def on_stdout(text: str) -> None:
        seen.append(text)
        if "ready" in text:
            ready.set()

    running = asyncio.create_task(sm.execute_code(language, code, on_stdout=on_stdout))
    await asyncio.wait_for(ready.wait(), 20)
    assert not running.done()
    await sm.files.write("go", b"")
    result = await running
    assert "".join(seen) == "ready\ndone\n" == result.stdout


async def test_a_call_over_its_time_limit_is_interrupted_and_state_is_kept(
    sm: SandboxManager,
) -> None:
    await sm.execute_code("python", "kept = 'yes'")
    slow = await sm.execute_code("python", "import time; time.sleep(30)", timeout=0.5)
    assert slow.error is not None
    assert slow.error.name == "TimeoutError"
    assert (await sm.execute_code("python", "kept")).text == "'yes'"


async def test_env_vars_reach_the_sandbox_and_this_process_environment_does_not(
    resident: SandboxManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDK_TEST_SECRET", "server-side-secret")
    async with SandboxManager(env_vars={"GIVEN": "explicitly"}) as sm:
        python = await sm.execute_code(
            "python",
            "import os\n(os.environ.get('GIVEN'), os.environ.get('SDK_TEST_SECRET'), "
            "os.environ.get('ANALYST_DATA_DIR'))",
        )
        bash = await sm.execute_code("bash", "env")
        per_call = await sm.execute_code("bash", "echo $ONCE", env_vars={"ONCE": "just now"})
        after = await sm.execute_code("bash", 'echo "[$ONCE]"')
    assert python.text == "('explicitly', None, None)"
    assert "GIVEN=explicitly" in bash.stdout
    assert "server-side-secret" not in bash.stdout
    assert "ANALYST_" not in bash.stdout
    assert per_call.stdout == "just now\n"
    assert after.stdout == "[]\n"


async def test_info_reports_cpu_memory_and_uptime(sm: SandboxManager) -> None:
    before = await sm.info()
    await sm.execute_code(
        "python",
        "import time\nblock = bytearray(200 * 1024 * 1024)\n"
        "end = time.process_time() + 0.5\nwhile time.process_time() < end: pass\ndel block",
    )
    after = await sm.info()
    assert after.sandbox_id == sm.sandbox_id
    assert after.cpu_seconds >= before.cpu_seconds + 0.5
    assert after.uptime_seconds > before.uptime_seconds
    assert after.executions == before.executions + 1
    assert after.memory_bytes > 0
    assert after.peak_memory_bytes is not None
    assert after.peak_memory_bytes >= 200 * 1024 * 1024
    assert after.peak_memory_bytes > after.memory_bytes


async def test_bad_calls_raise_usage_errors(sm: SandboxManager) -> None:
    with pytest.raises(SandboxUsageError, match="unknown language"):
        await sm.execute_code("ruby", "puts 1")
    with pytest.raises(SandboxUsageError, match="environment variable"):
        await sm.execute_code("bash", "true", env_vars={"A=B": "x"})
    with pytest.raises(SandboxUsageError, match="environment variable"):
        SandboxManager(env_vars={"": "x"})
    with pytest.raises(ValueError, match="timeout"):
        SandboxManager(timeout=0)
