"""The SQL cell's Python program and the SQL form of its errors (what every backend runs)."""

from __future__ import annotations

import ast

import pytest

from sandbox_analyst.sandbox import LanguageUnavailableError, SandboxErrorName
from sandbox_analyst.sandbox.base import checked_language
from sandbox_analyst.sandbox.models import ExecutionError
from sandbox_analyst.sandbox.sql_cells import sql_error, sql_program


def test_the_program_is_python_that_carries_the_query_verbatim() -> None:
    query = "SELECT 'it''s', \"x\" FROM 'a b.csv' -- \\n {braces}"
    tree = ast.parse(sql_program(query))
    call = tree.body[-1].value
    assert isinstance(call, ast.Call)
    assert call.args[0].value == query


def test_an_error_of_the_query_loses_the_traceback_and_the_engines_own_are_kept() -> None:
    duckdb = ExecutionError("BinderException", "Binder Error: no column x", "Traceback ...")
    assert sql_error(duckdb) == ExecutionError("BinderException", "Binder Error: no column x", "")
    timeout = ExecutionError(SandboxErrorName.TIMEOUT, "interrupted", "KeyboardInterrupt ...")
    assert sql_error(timeout) is timeout


def test_a_known_language_the_session_lacks_is_refused_saying_how_to_get_it() -> None:
    with pytest.raises(LanguageUnavailableError) as refused:
        checked_language("r", ("python", "bash", "sql"), backend="gateway")
    assert "the gateway backend does not run R cells" in str(refused.value)
    assert str(refused.value).endswith("this session runs: python, bash, sql")
