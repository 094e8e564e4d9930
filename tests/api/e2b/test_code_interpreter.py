"""`run_code` and code contexts through the official Python SDK: rich results, charts once,
state, errors, streaming callbacks, time limits, disconnects, languages, env vars, big outputs."""

from __future__ import annotations

import asyncio
import base64
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from e2b import TimeoutException
from e2b_code_interpreter import AsyncSandbox, Sandbox
from fastapi import FastAPI

from tests.api.e2b.conftest import SANDBOX, E2BUser, in_thread

pytestmark = pytest.mark.asyncio(loop_scope="session")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(alice: E2BUser) -> AsyncIterator[AsyncSandbox]:
    created = await AsyncSandbox.create(**alice.opts)
    yield created
    await created.kill()


async def test_pandas_and_a_chart_arrive_as_e2b_results(sandbox: AsyncSandbox) -> None:
    execution = await sandbox.run_code(
        "import pandas as pd\n"
        "import matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({'city': ['a', 'b', 'a'], 'sales': [1, 2, 3]})\n"
        "totals = df.groupby('city')['sales'].sum()\n"
        "totals.plot.bar()\n"
        "plt.show()\n"
        "totals.to_frame()"
    )
    assert execution.error is None
    charts = [result for result in execution.results if result.png]
    assert len(charts) == 1  # shown once, not again as a figure left open
    assert base64.b64decode(charts[0].png).startswith(PNG_MAGIC)
    assert not charts[0].is_main_result
    main = [result for result in execution.results if result.is_main_result]
    assert len(main) == 1
    assert "<table" in main[0].html
    assert "sales" in main[0].text
    assert execution.execution_count is not None


async def test_a_figure_as_the_last_expression_arrives_once(sandbox: AsyncSandbox) -> None:
    execution = await sandbox.run_code(
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])\nfig"
    )
    assert [bool(result.png) for result in execution.results].count(True) == 1


async def test_state_persists_across_calls(sandbox: AsyncSandbox) -> None:
    await sandbox.run_code("counter = 1")
    await sandbox.run_code("counter += 1")
    assert (await sandbox.run_code("counter")).text == "2"


async def test_an_error_comes_with_name_value_and_traceback(sandbox: AsyncSandbox) -> None:
    errors = []
    execution = await sandbox.run_code(
        "def inner():\n    return 1 / 0\ninner()", on_error=errors.append
    )
    assert execution.error is not None
    assert execution.error.name == "ZeroDivisionError"
    assert "division by zero" in execution.error.value
    assert "inner" in execution.error.traceback
    assert [error.name for error in errors] == ["ZeroDivisionError"]
    assert (await sandbox.run_code("'the session survives'")).text == "the session survives"


async def test_output_streams_to_callbacks_while_the_code_runs(sandbox: AsyncSandbox) -> None:
    seen: list[str] = []
    first_line = asyncio.Event()

    def on_stdout(message: object) -> None:
        seen.append(str(message))
        first_line.set()

    run = asyncio.create_task(
        sandbox.run_code(
            "import time, sys\n"
            "print('first', flush=True)\n"
            "while not __import__('os').path.exists('go'):\n"
            "    time.sleep(0.02)\n"
            "print('second')\n"
            "print('oops', file=sys.stderr)",
            on_stdout=on_stdout,
            on_stderr=lambda message: seen.append(f"err:{message}"),
        )
    )
    await asyncio.wait_for(first_line.wait(), 20)
    assert seen == ["first\n"]  # arrived before the code could finish
    await sandbox.files.write("/home/user/go", "")
    execution = await run
    assert "".join(line for line in seen if not line.startswith("err:")) == "first\nsecond\n"
    assert [line for line in seen if line.startswith("err:")] == ["err:oops\n"]
    assert "".join(execution.logs.stdout) == "first\nsecond\n"
    assert execution.logs.stderr == ["oops\n"]


async def test_results_stream_to_on_result(sandbox: AsyncSandbox) -> None:
    results = []
    await sandbox.run_code(
        "from IPython.display import display, Markdown\ndisplay(Markdown('**hi**'))\n7",
        on_result=results.append,
    )
    assert [(result.markdown, result.is_main_result) for result in results] == [
        ("**hi**", False),
        (None, True),
    ]
    assert results[1].text == "7"


async def test_the_server_time_limit_interrupts_and_keeps_state(
    app: FastAPI, sandbox: AsyncSandbox
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"sandbox": SANDBOX.model_copy(update={"timeout": 1.0})}
    )
    await sandbox.run_code("before = 'kept'")
    execution = await sandbox.run_code("import time\nwhile True:\n    time.sleep(0.05)")
    assert execution.error is not None
    assert execution.error.name == "TimeoutError"
    assert (await sandbox.run_code("before")).text == "kept"


async def test_a_client_that_goes_away_interrupts_the_code(sandbox: AsyncSandbox) -> None:
    # The SDK's own timeout drops the connection; the code must not run on to the end.
    await sandbox.run_code("progress = 'started'")
    with pytest.raises(TimeoutException):
        await sandbox.run_code(
            "import time\n"
            "for _ in range(400):\n"
            "    time.sleep(0.05)\n"
            "progress = 'finished'\n"
            "open('finished', 'w').close()",
            timeout=1,
        )
    # Executions run one at a time: had the code not been interrupted, this would wait for it
    # and then see its file and its variable.
    execution = await sandbox.run_code("import os\n(progress, os.path.exists('finished'))")
    assert execution.text == "('started', False)"


async def test_the_sync_sdk_runs_code_with_callbacks(alice: E2BUser) -> None:
    sandbox = await in_thread(Sandbox.create, **alice.opts)
    try:
        lines: list[str] = []
        execution = await in_thread(
            sandbox.run_code, "print('a')\nprint('b')\n3", on_stdout=lambda m: lines.append(m.line)
        )
        assert "".join(lines) == "a\nb\n"
        assert execution.text == "3"
        failed = await in_thread(sandbox.run_code, "raise ValueError('bad')")
        assert failed.error is not None
        assert failed.error.name == "ValueError"
    finally:
        await in_thread(sandbox.kill)


async def test_env_vars_hold_for_one_execution(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(envs={"SANDBOX_LEVEL": "everywhere"}, **alice.opts)
    try:
        code = "import os\n(os.environ.get('ONLY_NOW'), os.environ.get('SANDBOX_LEVEL'))"
        execution = await sandbox.run_code(code, envs={"ONLY_NOW": "yes"})
        assert execution.text == "('yes', 'everywhere')"
        assert (await sandbox.run_code(code)).text == "(None, 'everywhere')"
    finally:
        await sandbox.kill()


async def test_bash_runs_in_the_same_files(sandbox: AsyncSandbox) -> None:
    await sandbox.run_code("open('from_python.txt', 'w').write('hello')")
    execution = await sandbox.run_code(
        'cat from_python.txt; echo; echo "$GREETING"; ls /home/user >/dev/null; exit 3',
        language="bash",
        envs={"GREETING": "hi there"},
    )
    assert (
        execution.logs.stdout == ["hello\nhi there\n"]
        or "".join(execution.logs.stdout) == "hello\nhi there\n"
    )
    assert execution.error is not None
    assert "3" in execution.error.value


async def test_large_outputs_arrive_whole_up_to_the_limit(sandbox: AsyncSandbox) -> None:
    execution = await sandbox.run_code("print('y' * 1_000_000)")
    assert "".join(execution.logs.stdout) == "y" * 1_000_000 + "\n"
    flood = await sandbox.run_code("for _ in range(40):\n    print('z' * 100_000)")
    kept = "".join(flood.logs.stdout)
    assert len(kept) <= SANDBOX.output_limit
    assert "truncated" in "".join(flood.logs.stderr)
    table = await sandbox.run_code(
        "import pandas as pd\npd.set_option('display.max_rows', 20000)\n"
        "pd.DataFrame({'n': range(20000)})"
    )
    assert "<th>19999</th>" in table.results[0].html


async def test_contexts_are_separate_interpreters_on_the_same_files(
    sandbox: AsyncSandbox,
) -> None:
    await sandbox.run_code("name = 'default'")
    await sandbox.files.make_dir("/home/user/work")
    context = await sandbox.create_code_context(cwd="/home/user/work")
    assert context.language == "python"
    assert context.cwd == "/home/user/work"
    assert (await sandbox.run_code("'name' in dir()", context=context)).text == "False"
    await sandbox.run_code(
        "name = 'context'\nopen('made_here.txt', 'w').write('x')", context=context
    )
    assert (await sandbox.run_code("name")).text == "default"
    assert await sandbox.files.exists("/home/user/work/made_here.txt")
    listed = await sandbox.list_code_contexts()
    assert context.id in [item.id for item in listed]
    await sandbox.restart_code_context(context)
    assert (await sandbox.run_code("'name' in dir()", context=context)).text == "False"
    await sandbox.remove_code_context(context)
    assert context.id not in [item.id for item in await sandbox.list_code_contexts()]
    with pytest.raises(Exception, match="not found"):
        await sandbox.run_code("1", context=context)


async def test_a_bash_context_runs_in_its_directory(sandbox: AsyncSandbox) -> None:
    await sandbox.files.write("/home/user/sub/inside.txt", "in sub")
    context = await sandbox.create_code_context(language="bash", cwd="/home/user/sub")
    execution = await sandbox.run_code("cat inside.txt", context=context)
    assert "".join(execution.logs.stdout) == "in sub"


async def test_an_unknown_language_is_refused(sandbox: AsyncSandbox) -> None:
    with pytest.raises(Exception, match="not supported"):
        await sandbox.run_code("1", language="cobol")


async def test_contexts_are_bounded_and_need_an_existing_directory(
    sandbox: AsyncSandbox,
) -> None:
    from e2b import SandboxException

    from sandbox_analyst.service.e2b.live import MAX_CONTEXTS

    with pytest.raises(SandboxException, match="does not exist"):
        await sandbox.create_code_context(cwd="/home/user/nowhere")
    # The default python context is one of them.
    created = [await sandbox.create_code_context(language="bash") for _ in range(MAX_CONTEXTS - 1)]
    with pytest.raises(SandboxException, match="429"):
        await sandbox.create_code_context(language="bash")
    await sandbox.remove_code_context(created[0])
    await sandbox.create_code_context(language="bash")


async def test_killing_a_sandbox_ends_the_code_running_in_it(alice: E2BUser) -> None:
    sandbox = await AsyncSandbox.create(**alice.opts)
    started = asyncio.Event()
    run = asyncio.create_task(
        sandbox.run_code(
            "import time\nprint('running', flush=True)\nwhile True:\n    time.sleep(0.05)",
            on_stdout=lambda _message: started.set(),
        )
    )
    await asyncio.wait_for(started.wait(), 20)
    assert await sandbox.kill() is True
    execution = await run
    assert execution.error is not None
    assert "closed" in execution.error.value
    assert not await sandbox.is_running()


async def test_sql_runs_duckdb_over_the_sandboxs_files(sandbox: AsyncSandbox) -> None:
    await sandbox.files.write("/home/user/sales.csv", "region,amount\nnorth,10\nsouth,5\nnorth,7\n")
    execution = await sandbox.run_code(
        "SELECT region, sum(amount) AS total FROM 'sales.csv' GROUP BY 1 ORDER BY 1",
        language="sql",
    )
    assert execution.error is None
    [table] = execution.results
    assert table.is_main_result
    assert "<table" in table.html
    assert "north" in table.text
    failed = await sandbox.run_code("SELECT * FROM missing", language="sql")
    assert failed.error is not None
    assert failed.error.name == "CatalogException"
    assert failed.error.traceback == ""
    in_python = await sandbox.run_code("int(_sql.total[0])")
    assert in_python.text == "17"


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
async def test_r_keeps_its_state_and_returns_plots(sandbox: AsyncSandbox) -> None:
    await sandbox.run_code("answer <- 41", language="r")
    execution = await sandbox.run_code("answer + 1\nplot(1:10)", language="R")
    assert execution.error is None
    assert "".join(execution.logs.stdout) == "[1] 42\n"
    [plot] = execution.results
    assert base64.b64decode(plot.png).startswith(PNG_MAGIC)
    failed = await sandbox.run_code("stop('no such thing')", language="r")
    assert failed.error is not None
    assert failed.error.value == "no such thing"
    context = await sandbox.create_code_context(language="r")
    apart = await sandbox.run_code("exists('answer')", context=context)
    assert "".join(apart.logs.stdout) == "[1] FALSE\n"  # a context of its own
