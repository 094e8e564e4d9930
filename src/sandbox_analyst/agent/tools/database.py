"""`list_tables(connection)`, `describe_table(connection, table)` and `query_database(
connection, sql, name?)`: the databases an assistant may read, through the server (the
sandbox has no network and never sees a credential).

A query's rows land in the sandbox as a Parquet file in the workdir and a DataFrame variable
(`df_<name>`, `<name>.parquet`), so the next `execute_code` works on them; the observation
shows the columns (database type and pandas dtype) and the first rows. The server enforces
read-only access, the statement timeout and the row limit (`DatabaseAccess`)."""

from __future__ import annotations

import asyncio
import json
import re

from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.tools.context import InvalidArguments, ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.database_access import (
    DatabaseAccess,
    DatabaseToolError,
    QueryRows,
    TableDescription,
)
from sandbox_analyst.agent.tools.query_frames import to_parquet, unique_names
from sandbox_analyst.agent.tools.registry import Tool, ToolRegistry
from sandbox_analyst.llm import ToolSpec

LIST_TABLES = "list_tables"
DESCRIBE_TABLE = "describe_table"
QUERY_DATABASE = "query_database"
DATABASE_TOOLS = (LIST_TABLES, DESCRIBE_TABLE, QUERY_DATABASE)
PREVIEW_ROWS = 10
_MAX_SQL_CHARS = 100_000
_MAX_LISTED_TABLES = 500
_NAME = re.compile(r"[^0-9a-zA-Z_]+")

# Runs in the session: reads the file into the variable and prints its dtypes and first rows
# as JSON. Nothing else is left in the user's namespace.
_LOADER = """\
{variable} = __import__("pandas").read_parquet({path!r})
print(__import__("json").dumps({{
    "dtypes": [str(dtype) for dtype in {variable}.dtypes],
    "head": {variable}.head({rows}).to_string(max_colwidth=60, max_cols=30),
}}))
"""


def result_name(requested: str, connection: str) -> str:
    """The identifier a result is stored under: `name` if given, else the connection's name;
    lower case, letters, digits and underscores only."""
    name = _NAME.sub("_", requested or connection).strip("_").lower()[:60] or "query"
    return f"q_{name}" if name[0].isdigit() else name


def _connection_argument(context: ToolContext, access: DatabaseAccess) -> str:
    name = context.text_argument("connection").strip()
    known = [info.name for info in access.connections()]
    if name not in known:
        raise InvalidArguments(
            f"no connection {name!r}; this assistant may use: {', '.join(known) or '(none)'}"
        )
    return name


def _failure(exc: DatabaseToolError) -> ToolOutcome:
    return ToolOutcome(Observation.failure(exc.name, exc.message))


def _tables_handler(access: DatabaseAccess):
    async def list_tables(context: ToolContext) -> ToolOutcome:
        connection = _connection_argument(context, access)
        try:
            tables = await access.tables(connection)
        except DatabaseToolError as exc:
            return _failure(exc)
        lines = [
            table.qualified + (" (view)" if table.kind == "view" else "")
            for table in tables[:_MAX_LISTED_TABLES]
        ]
        if len(tables) > _MAX_LISTED_TABLES:
            lines.append(f"... and {len(tables) - _MAX_LISTED_TABLES} more")
        text = "\n".join(lines) or f"{connection}: no tables"
        return ToolOutcome(Observation(success=True, stdout=text))

    return list_tables


def describe_text(description: TableDescription) -> str:
    lines = [f"table {description.table.qualified}"]
    if description.row_count is not None:
        lines[0] += f" ({description.row_count:,} rows)"
    for column in description.columns:
        flags = [column.type]
        if column.primary_key:
            flags.append("primary key")
        if column.nullable is False:
            flags.append("not null")
        line = f"- {column.name}: {', '.join(flags)}"
        lines.append(line + (f"  -- {column.comment}" if column.comment else ""))
    for key in description.foreign_keys:
        lines.append(
            f"foreign key ({', '.join(key.columns)}) references "
            f"{key.references} ({', '.join(key.referred_columns)})"
        )
    return "\n".join(lines)


def _describe_handler(access: DatabaseAccess):
    async def describe_table(context: ToolContext) -> ToolOutcome:
        connection = _connection_argument(context, access)
        table = context.text_argument("table").strip()
        if not table:
            raise InvalidArguments('"table" must name a table; try list_tables')
        try:
            description = await access.describe(connection, table)
        except DatabaseToolError as exc:
            return _failure(exc)
        return ToolOutcome(Observation(success=True, stdout=describe_text(description)))

    return describe_table


def _summary(answer: QueryRows, variable: str, path: str) -> str:
    count = len(answer.rows)
    if not answer.truncated:
        told = f"{count:,} row{'s' if count != 1 else ''}"
    elif answer.total is not None:
        told = f"{count:,} of {answer.total:,} rows (truncated at the row limit)"
    else:
        told = f"the first {count:,} rows of more than could be counted (truncated)"
    return f"{told} -> DataFrame {variable} (file {path})"


async def _land(context: ToolContext, answer: QueryRows, name: str) -> Observation:
    """Write the rows into the workdir and load them into `df_<name>`."""
    variable, path = f"df_{name}", f"{name}.parquet"
    data = await asyncio.to_thread(to_parquet, answer)
    context.turn.forget_listing()  # the workdir changes: the next call lists it again
    await context.sandbox.files.write(path, data)
    code = _LOADER.format(variable=variable, path=path, rows=PREVIEW_ROWS)
    execution = await context.sandbox.run_code(code, timeout=context.config.code_timeout)
    if execution.error is not None:
        error = execution.error
        return Observation.failure(
            error.name, f"the rows are in {path}, but loading them failed: {error.value}"
        )
    try:
        loaded = json.loads("".join(execution.logs.stdout))
        dtypes, head = loaded["dtypes"], loaded["head"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return Observation.failure("LoadError", f"the rows are in {path}; read it with pandas")
    names = unique_names([column.name for column in answer.columns])
    columns = [
        f"- {name}: {column.type} ({dtype})"
        for name, column, dtype in zip(names, answer.columns, dtypes, strict=False)
    ]
    lines = [_summary(answer, variable, path), "columns:", *columns]
    if answer.rows:
        shown = min(PREVIEW_ROWS, len(answer.rows))
        lines += [f"first {shown} rows:", head]
    notes = []
    if answer.truncated:
        notes.append(
            f"Only {answer.limit:,} rows are returned: aggregate or filter in SQL (GROUP BY, "
            "WHERE) rather than in pandas to work on all of them."
        )
    return Observation(success=True, stdout="\n".join(lines), notes=notes)


def _query_handler(access: DatabaseAccess):
    async def query_database(context: ToolContext) -> ToolOutcome:
        connection = _connection_argument(context, access)
        sql = context.text_argument("sql").strip()
        if not sql:
            raise InvalidArguments('"sql" must hold one SELECT statement')
        if len(sql) > _MAX_SQL_CHARS:
            raise InvalidArguments(f'"sql" is longer than {_MAX_SQL_CHARS:,} characters')
        name = result_name(context.text_argument("name", default=""), connection)
        try:
            answer = await access.query(connection, sql)
        except DatabaseToolError as exc:
            return _failure(exc)
        return ToolOutcome(await _land(context, answer, name))

    return query_database


def _connections_text(access: DatabaseAccess) -> str:
    return "; ".join(
        f"{info.name} ({info.dialect}{': ' + info.description if info.description else ''})"
        for info in access.connections()
    )


def database_tools(access: DatabaseAccess) -> list[Tool]:
    """The three tools, their descriptions naming the connections `access` offers."""
    known = [info.name for info in access.connections()]
    connection = {
        "type": "string",
        "enum": known,
        "description": f"The connection's name: {_connections_text(access)}.",
    }
    return [
        Tool(
            ToolSpec(
                LIST_TABLES,
                "List the tables and views of a database connection.",
                {
                    "type": "object",
                    "properties": {"connection": connection},
                    "required": ["connection"],
                },
            ),
            _tables_handler(access),
            usage="list_tables(connection): the tables and views of a database.",
        ),
        Tool(
            ToolSpec(
                DESCRIBE_TABLE,
                "Describe a table of a database connection: its columns and their types, "
                "keys, and its number of rows.",
                {
                    "type": "object",
                    "properties": {
                        "connection": connection,
                        "table": {"type": "string", "description": "Table name, or schema.table."},
                    },
                    "required": ["connection", "table"],
                },
            ),
            _describe_handler(access),
            usage="describe_table(connection, table): a table's columns, types and keys.",
        ),
        Tool(
            ToolSpec(
                QUERY_DATABASE,
                "Run one read-only SQL query (SELECT) on a database connection. The rows "
                "(at most the row limit) land in the sandbox as the DataFrame df_<name> and "
                "the file <name>.parquet for execute_code; you see the columns and first rows. "
                "Aggregate in SQL when the table is large.",
                {
                    "type": "object",
                    "properties": {
                        "connection": connection,
                        "sql": {"type": "string", "description": "One SQL SELECT statement."},
                        "name": {
                            "type": "string",
                            "description": "Name of the result (df_<name>); default: the "
                            "connection's name. Give each query its own to keep several.",
                        },
                    },
                    "required": ["connection", "sql"],
                },
            ),
            _query_handler(access),
            usage=f"query_database(connection, sql, name): one read-only SQL query on a "
            f"database ({_connections_text(access)}); the rows land in df_<name>.",
        ),
    ]


def with_databases(tools: ToolRegistry, access: DatabaseAccess) -> ToolRegistry:
    """`tools` plus the database tools, when `access` offers any connection."""
    if not access.connections():
        return tools
    return ToolRegistry([*tools, *database_tools(access)])
