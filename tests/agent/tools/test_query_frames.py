"""A query's rows as Parquet: any answer lands, whatever its values. Decimals become floats,
JSON documents and UUIDs text, a column of mixed types text; duplicate column names (a join's
two `id`s) are told apart."""

from __future__ import annotations

import datetime
import io
import uuid
from decimal import Decimal

import pyarrow.parquet as pq

from sandbox_analyst.agent.tools import Column, QueryRows
from sandbox_analyst.agent.tools.database import result_name
from sandbox_analyst.agent.tools.query_frames import to_parquet, unique_names


def read(answer: QueryRows) -> dict[str, list]:
    return pq.read_table(io.BytesIO(to_parquet(answer))).to_pydict()


def answer(names: list[str], rows: list[tuple]) -> QueryRows:
    return QueryRows([Column(name, "?") for name in names], rows, len(rows), False, 1000)


def test_values_of_every_kind_land() -> None:
    key = uuid.UUID(int=7)
    day = datetime.date(2026, 1, 2)
    table = read(
        answer(
            ["amount", "doc", "key", "day", "mixed", "empty"],
            [
                (Decimal("1.25"), {"a": 1}, key, day, 1, None),
                (Decimal("2.50"), [1, 2], key, None, "two", None),
            ],
        )
    )

    assert table == {
        "amount": [1.25, 2.5],
        "doc": ['{"a": 1}', "[1, 2]"],
        "key": [str(key), str(key)],
        "day": [day, None],
        "mixed": ["1", "two"],
        "empty": [None, None],
    }


def test_duplicate_column_names_are_told_apart() -> None:
    assert unique_names(["id", "id", "name", "id", ""]) == ["id", "id_2", "name", "id_3", "column"]
    assert list(read(answer(["id", "id"], [(1, 2)]))) == ["id", "id_2"]


def test_a_result_is_named_as_a_python_identifier() -> None:
    assert result_name("", "sales") == "sales"
    assert result_name("By Region!", "sales") == "by_region"
    assert result_name("2024 orders", "sales") == "q_2024_orders"
    assert result_name("***", "shop-db") == "query"
