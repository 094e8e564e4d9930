"""SQL cells: `run_code(query, language="sql")` runs DuckDB in the session's own Python, so every
backend that runs Python runs SQL, inside the sandbox and never on the server.

The query runs on one DuckDB connection per interpreter, kept in the session's namespace as
`_sql_connection`: a `CREATE VIEW` or `CREATE TABLE` of one cell is there for the next. Paths
are relative to the workdir (`SELECT region, sum(amount) FROM 'sales.csv' GROUP BY 1`), and
pandas DataFrames of the session can be queried by name. The result of the last statement that
returns rows is the cell's value, a pandas DataFrame (shown like any DataFrame: the first rows
and the total), and stays in the variable `_sql` for the Python cells that follow.

A failing statement is reported with DuckDB's own error (its class and message), without the
Python traceback of the code that ran it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sandbox_analyst.sandbox.base import ErrorHandler
from sandbox_analyst.sandbox.models import Execution, ExecutionError, SandboxErrorName

SQL_RESULT_VARIABLE = "_sql"
SQL_CONNECTION_VARIABLE = "_sql_connection"

# Defined in the session's namespace, called, and removed by itself: the namespace keeps only
# `_sql` and `_sql_connection`. Its globals are the session's, so DuckDB's replacement scans
# find the session's DataFrames; its locals have names no one queries.
_PROGRAM = """\
def _sandbox_sql_cell(_sandbox_sql_text):
    _sandbox_namespace = globals()
    _sandbox_namespace.pop("_sandbox_sql_cell", None)
    try:
        import duckdb as _sandbox_duckdb
    except ImportError:
        raise ModuleNotFoundError(
            "SQL cells run on DuckDB, which this sandbox's Python does not have: add the "
            "duckdb package to its template"
        ) from None
    _sandbox_connection = _sandbox_namespace.get("{connection}")
    if not isinstance(_sandbox_connection, _sandbox_duckdb.DuckDBPyConnection):
        _sandbox_connection = _sandbox_duckdb.connect()
        _sandbox_namespace["{connection}"] = _sandbox_connection
    try:
        _sandbox_relation = _sandbox_connection.sql(_sandbox_sql_text)
        if _sandbox_relation is None:
            return None
        _sandbox_frame = _sandbox_relation.df()
    except _sandbox_duckdb.Error as _sandbox_error:
        raise _sandbox_error.with_traceback(None) from None
    if list(_sandbox_frame.columns) == ["Count"] and _sandbox_frame.empty:
        return None  # a statement without rows (CREATE, DROP...): nothing to show
    _sandbox_namespace["{result}"] = _sandbox_frame
    return _sandbox_frame
_sandbox_sql_cell({query!r})
"""

# Errors the engine itself reports (time limit, lost worker, disk quota): kept as they are.
_ENGINE_ERRORS = frozenset(
    value for name, value in vars(SandboxErrorName).items() if not name.startswith("_")
)


def sql_program(query: str) -> str:
    """The Python cell that runs `query` in the session."""
    return _PROGRAM.format(
        query=query, connection=SQL_CONNECTION_VARIABLE, result=SQL_RESULT_VARIABLE
    )


def sql_error(error: ExecutionError) -> ExecutionError:
    """`error` as an SQL cell reports it: DuckDB's class and message, no Python traceback."""
    if error.name in _ENGINE_ERRORS or error.name == "KeyboardInterrupt":
        return error
    return replace(error, traceback="")


def sql_error_handler(on_error: ErrorHandler | None) -> ErrorHandler | None:
    """`on_error` handed the SQL form of each error (`sql_error`)."""
    if on_error is None:
        return None
    caller = on_error

    def cleaned(error: ExecutionError) -> Awaitable[None] | None:
        return caller(sql_error(error))

    return cleaned


def finish_sql(execution: Execution) -> Execution:
    """The execution of an SQL cell's program, its error in SQL form."""
    if execution.error is not None:
        execution.error = sql_error(execution.error)
    return execution


async def run_in_language(
    run: Callable[..., Awaitable[Execution]],
    code: str,
    language: str,
    on_error: ErrorHandler | None,
    **options: Any,
) -> Execution:
    """`run(code, language=..., on_error=..., **options)`, a backend's runner of Python and
    the languages it has, for `language`: an SQL cell goes to it as the Python program that
    runs the query, its errors in SQL form."""
    if language == "sql":
        handler = sql_error_handler(on_error)
        execution = await run(sql_program(code), language="python", on_error=handler, **options)
        return finish_sql(execution)
    return await run(code, language=language, on_error=on_error, **options)
