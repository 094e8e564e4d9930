"""A query's rows as a Parquet file: what `query_database` writes into the sandbox's workdir,
read there into a DataFrame. Values a column cannot hold as one Arrow type (mixed types,
JSON documents, network addresses) become text, so any answer lands; decimals become floats,
the type an analysis uses."""

from __future__ import annotations

import datetime
import io
import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox_analyst.agent.tools.database_access import QueryRows

if TYPE_CHECKING:
    import pyarrow as pa


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique (`id`, `id_2`): a join may return two columns of one name."""
    taken: set[str] = set()
    result = []
    for name in names:
        base = candidate = name or "column"
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        taken.add(candidate)
        result.append(candidate)
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _column(values: list[Any]) -> pa.Array:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([_text(value) for value in values], type=pa.string())


def to_parquet(answer: QueryRows) -> bytes:
    # pyarrow (and numpy under it) is imported by the first query, not with every server.
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = unique_names([column.name for column in answer.columns])
    columns = [_column([_plain(row[index]) for row in answer.rows]) for index in range(len(names))]
    table = pa.Table.from_arrays(columns, names=names)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
