"""SQL on every backend (DuckDB in the session's Python), and R where a backend offers it:
elsewhere a clear refusal naming what the session runs."""

from __future__ import annotations

import shutil

import pytest

from sandbox_analyst.sandbox import LanguageUnavailableError, Sandbox, SandboxErrorName

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_sql_runs_over_the_workdirs_files_and_keeps_its_views(sandbox: Sandbox) -> None:
    assert "sql" in sandbox.languages
    await sandbox.files.write("sales.csv", b"region,amount\nnorth,10\nsouth,5\nnorth,7\n")
    view = await sandbox.run_code(
        "CREATE VIEW totals AS SELECT region, sum(amount) AS total FROM 'sales.csv' GROUP BY 1",
        language="sql",
    )
    assert view.error is None
    execution = await sandbox.run_code("SELECT * FROM totals ORDER BY total DESC", language="sql")
    assert execution.error is None
    [table] = execution.results
    assert table.is_main_result
    assert "<table" in (table.html or "")
    assert table.text.split()[:5] == ["region", "total", "0", "north", "17.0"]
    assert (await sandbox.run_code("len(_sql)")).text == "2"


async def test_an_sql_error_is_reported_without_a_python_traceback(sandbox: Sandbox) -> None:
    errors = []
    execution = await sandbox.run_code("SELEC 1", language="sql", on_error=errors.append)
    assert execution.error is not None
    assert execution.error.name == "ParserException"
    assert "syntax error" in execution.error.value
    assert execution.error.traceback == ""
    assert errors == [execution.error]


async def test_r_runs_where_offered_and_is_refused_elsewhere(sandbox: Sandbox) -> None:
    # The E2B backend here drives our own E2B API, which runs R where the local backend has it.
    if sandbox.backend in ("local", "e2b") and shutil.which("Rscript") is not None:
        assert "r" in sandbox.languages
        await sandbox.run_code("base <- 4", language="r")
        execution = await sandbox.run_code("sum(1:base)", language="r")
        assert execution.error is None
        assert "".join(execution.logs.stdout) == "[1] 10\n"
        failed = await sandbox.run_code("stop('bad input')", language="r")
        assert failed.error is not None
        assert failed.error.value == "bad input"
        endless = await sandbox.run_code("repeat {}", language="r", timeout=1.5)
        assert endless.error is not None
        assert endless.error.name == SandboxErrorName.TIMEOUT
        kept = await sandbox.run_code("base", language="r")
        assert "".join(kept.logs.stdout) == "[1] 4\n"
        return
    assert "r" not in sandbox.languages
    with pytest.raises(LanguageUnavailableError, match="this session runs: python, bash, sql"):
        await sandbox.run_code("1", language="r")
