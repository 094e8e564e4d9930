"""SQL and R cells in the local backend: SQL is DuckDB in the session's Python, R a persistent
R process of the session, both under the worker's isolation in its workdir."""

from __future__ import annotations

import base64
import shutil

import pytest

from sandbox_analyst.sandbox import LanguageUnavailableError, SandboxErrorName
from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool
from tests.fixtures.sandboxes import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")
needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")

SALES = b"region,amount\nnorth,10\nsouth,5\nnorth,7\neast,1\n"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_a_query_over_a_csv_in_the_workdir_returns_a_table(sandbox: LocalSandbox) -> None:
    await sandbox.files.write("sales.csv", SALES)
    execution = await sandbox.run_code(
        "SELECT region, sum(amount) AS total FROM 'sales.csv' GROUP BY 1 ORDER BY 1",
        language="sql",
    )
    assert execution.error is None
    [table] = execution.results
    assert table.is_main_result
    assert table.html is not None
    assert "<table" in table.html
    assert table.text.split() == ["region", "total", "0", "east", "1.0", "1", "north", "17.0",
                                  "2", "south", "5.0"]  # fmt: skip


async def test_views_persist_across_cells_and_the_result_is_usable_from_python(
    sandbox: LocalSandbox,
) -> None:
    await sandbox.files.write("sales.csv", SALES)
    created = await sandbox.run_code(
        "CREATE VIEW big AS SELECT * FROM 'sales.csv' WHERE amount > 6", language="sql"
    )
    assert created.error is None
    assert created.results == []
    counted = await sandbox.run_code("SELECT count(*) AS n FROM big", language="sql")
    assert counted.error is None
    assert counted.results[0].text.split()[-1] == "2"
    used = await sandbox.run_code("type(_sql).__name__, int(_sql.n[0])")
    assert used.text == "('DataFrame', 2)"


async def test_a_query_can_read_the_sessions_dataframes(sandbox: LocalSandbox) -> None:
    await sandbox.run_code("import pandas as pd\nprices = pd.DataFrame({'p': [1, 2, 3]})")
    execution = await sandbox.run_code("SELECT sum(p) AS s FROM prices", language="sql")
    assert execution.error is None
    assert execution.results[0].text.split()[-1] == "6.0"


async def test_an_sql_error_is_duckdbs_message_without_a_python_traceback(
    sandbox: LocalSandbox,
) -> None:
    reported = []
    execution = await sandbox.run_code(
        "SELECT * FROM missing_table", language="sql", on_error=reported.append
    )
    assert execution.error is not None
    assert execution.error.name == "CatalogException"
    assert "missing_table does not exist" in execution.error.value
    assert execution.error.traceback == ""
    assert reported == [execution.error]
    assert "_sandbox_sql_cell" not in (await sandbox.run_code("dir()")).text


@needs_r
async def test_r_variables_persist_across_cells(sandbox: LocalSandbox) -> None:
    assert "r" in sandbox.languages
    first = await sandbox.run_code("x <- 41\ncat('set\\n')", language="r")
    assert first.error is None
    assert first.logs.stdout == ["set\n"]
    second = await sandbox.run_code("x + 1", language="r")
    assert second.error is None
    assert "".join(second.logs.stdout) == "[1] 42\n"


@needs_r
async def test_r_output_streams_and_warnings_go_to_stderr(sandbox: LocalSandbox) -> None:
    seen: list[str] = []
    execution = await sandbox.run_code(
        "cat('a\\n'); warning('careful'); message('note')", language="r", on_stdout=seen.append
    )
    assert execution.error is None
    assert seen == ["a\n"]
    stderr = "".join(execution.logs.stderr)
    assert "Warning message:\ncareful" in stderr
    assert "note" in stderr


@needs_r
async def test_an_r_plot_comes_back_as_a_png_image(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("plot(1:10)\nhist(rnorm(50))", language="r")
    assert execution.error is None
    assert len(execution.results) == 2
    for result in execution.results:
        assert result.png is not None
        assert base64.b64decode(result.png).startswith(PNG_MAGIC)
    assert await sandbox.files.list(".") == []  # no Rplots.pdf left in the workdir


@needs_r
async def test_an_r_error_is_reported_with_rs_message(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("y <- 1\nsqrt('a')\ny <- 2", language="r")
    assert execution.error is not None
    assert execution.error.name == "simpleError"
    assert execution.error.value == "non-numeric argument to mathematical function"
    assert execution.error.traceback.startswith('Error in sqrt("a")')
    kept = await sandbox.run_code("y", language="r")
    assert "".join(kept.logs.stdout) == "[1] 1\n"  # the cell stopped at its error
    parse = await sandbox.run_code("x y", language="r")
    assert parse.error is not None
    assert parse.error.name == "ParseError"


@needs_r
async def test_an_endless_r_loop_is_cut_by_the_timeout_and_both_languages_keep_state(
    sandbox: LocalSandbox,
) -> None:
    await sandbox.run_code("kept_in_python = 7")
    await sandbox.run_code("kept_in_r <- 8", language="r")
    generation = sandbox.generation
    execution = await sandbox.run_code("while (TRUE) {}", language="r", timeout=1.5)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert sandbox.generation == generation
    assert (await sandbox.run_code("kept_in_python")).text == "7"
    after = await sandbox.run_code("kept_in_r", language="r")
    assert "".join(after.logs.stdout) == "[1] 8\n"


@needs_r
async def test_r_that_ignores_the_interrupt_is_ended_and_python_keeps_its_state(
    sandbox: LocalSandbox,
) -> None:
    await sandbox.run_code("kept_in_python = 7")
    await sandbox.run_code("lost_in_r <- 1", language="r")
    # An interrupt handler that swallows the interrupt and loops again.
    stubborn = "repeat tryCatch(repeat {}, interrupt = function(i) NULL)"
    execution = await sandbox.run_code(stubborn, language="r", timeout=1.0)
    assert execution.error is not None
    assert execution.error.name == SandboxErrorName.TIMEOUT
    assert "R's variables are gone" in "".join(execution.logs.stderr)
    assert (await sandbox.run_code("kept_in_python")).text == "7"
    fresh = await sandbox.run_code("exists('lost_in_r')", language="r")
    assert "".join(fresh.logs.stdout) == "[1] FALSE\n"


@needs_r
async def test_r_ending_itself_is_reported_and_the_next_r_cell_starts_afresh(
    sandbox: LocalSandbox,
) -> None:
    await sandbox.run_code("z <- 1", language="r")
    ended = await sandbox.run_code("quit(status = 3)", language="r")
    assert ended.error is not None
    assert ended.error.name == "RSessionEnded"
    assert "exit status 3" in ended.error.value
    again = await sandbox.run_code("exists('z')", language="r")
    assert "".join(again.logs.stdout) == "[1] FALSE\n"


@needs_r
async def test_env_vars_of_one_r_cell_are_seen_by_that_cell_only(sandbox: LocalSandbox) -> None:
    seen = await sandbox.run_code(
        "cat(Sys.getenv('STAGE'))", language="r", env_vars={"STAGE": "test"}
    )
    assert seen.logs.stdout == ["test"]
    gone = await sandbox.run_code("cat(Sys.getenv('STAGE', 'unset'))", language="r")
    assert gone.logs.stdout == ["unset"]


async def test_r_where_the_worker_found_no_r_is_refused_naming_how_to_add_it(
    tmp_path, monkeypatch
) -> None:
    # A worker whose PATH holds no Rscript: what a machine without R looks like to it.
    monkeypatch.setattr("sandbox_analyst.sandbox.local.pool.PATH", "/nonexistent")
    async with SandboxPool(sandbox_settings(pool_size=0), tmp_path) as fresh_pool:
        sandbox = await fresh_pool.acquire()
        assert "r" not in sandbox.languages
        assert "sql" in sandbox.languages
        with pytest.raises(LanguageUnavailableError) as refused:
            await sandbox.run_code("1", language="r")
        await sandbox.close()
    message = str(refused.value)
    assert "r-base-core" in message
    assert "this session runs: python, sql" in message
