"""Running code in the local backend: the worker's environment is built from scratch."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool
from tests.fixtures.sandboxes import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_thread_counts_are_limited(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("import os\nos.environ['OPENBLAS_NUM_THREADS']")
    assert execution.text == "'1'"


async def test_python_in_a_shell_command_is_the_sandboxs_own_interpreter(
    sandbox: LocalSandbox,
) -> None:
    kernel = await sandbox.run_code("import sys\nsys.prefix")
    command = await sandbox.run_command(
        "python -c 'import sys, pandas; print(sys.prefix)' && python3 -c 'import numpy'"
    )
    assert command.exit_code == 0, command.stderr
    assert repr(command.stdout.strip()) == kernel.text


async def test_server_environment_does_not_leak(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("ANALYST_DATABASE_URL", "postgresql://secret@db/analyst")
    async with SandboxPool(sandbox_settings(pool_size=0), tmp_path) as fresh_pool:
        sandbox = await fresh_pool.acquire()
        execution = await sandbox.run_code(
            "import os\nsorted(k for k in os.environ if 'KEY' in k or k.startswith('ANALYST'))"
        )
    assert execution.text == "[]"


async def test_invalid_outputs_are_dropped_with_a_note_and_the_cell_goes_on(
    sandbox: LocalSandbox,
) -> None:
    seen: list[str] = []
    execution = await sandbox.run_code(
        "from IPython.display import display\n"
        "display({'image/png': 'not base64 at all!', 'text/plain': 'a chart'}, raw=True)\n"
        "display({'image/png': 12345}, raw=True)\n"
        "display({'application/x-huge': 'x' * (8 * 2**20)}, raw=True)\n"
        "'still running'",
        on_stderr=seen.append,
    )
    assert execution.error is None
    assert execution.text == "'still running'"
    [chart] = [result for result in execution.results if not result.is_main_result]
    assert (chart.text, chart.png) == ("a chart", None)
    notes = "".join(execution.logs.stderr)
    assert "image/png" in notes
    assert "base64" in notes
    assert "application/x-huge" in notes
    assert "".join(seen) == notes  # streamed like any stderr


async def test_an_output_too_large_for_the_channel_is_dropped_not_fatal(
    sandbox: LocalSandbox,
) -> None:
    await sandbox.run_code("kept = 'state'")
    execution = await sandbox.run_code(
        "from IPython.display import display\n"
        "display({'text/plain': 'x' * (70 * 2**20)}, raw=True)\n"
        "kept"
    )
    assert not execution.state_lost
    assert execution.text == "'state'"
    assert "not sent" in "".join(execution.logs.stderr)


async def test_every_figure_shown_in_a_loop_is_captured(sandbox: LocalSandbox) -> None:
    # Each figure is closed after show(): a new one may reuse a freed one's id(), and must
    # not be taken for it.
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\n"
        "for index in range(40):\n"
        "    plt.figure()\n"
        "    plt.plot([0, index])\n"
        "    plt.show()"
    )
    assert execution.error is None
    assert len([result for result in execution.results if result.png]) == 40


async def test_the_command_line_is_a_fresh_interpreters(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("import sys\nsys.argv, sys.orig_argv[1:]")
    assert execution.text == "([''], [])"


async def test_a_bare_unittest_main_runs_the_tests_of_the_session(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code(
        "import unittest\n"
        "class Arithmetic(unittest.TestCase):\n"
        "    def test_addition(self):\n"
        "        self.assertEqual(1 + 1, 2)\n"
        "unittest.main()"
    )
    log = "".join(execution.logs.stderr)
    assert "Ran 1 test" in log
    assert "OK" in log
    # unittest.main() ends with sys.exit(); IPython reports that, as it would in a notebook.
    assert execution.error is not None
    assert execution.error.name == "SystemExit"


async def test_pip_says_at_once_that_packages_come_from_the_server(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("%pip install faker")
    assert execution.error is not None
    assert execution.error.name == "PackageInstallUnavailable"
    assert "install_package(name)" in execution.error.value
