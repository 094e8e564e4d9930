"""What every read-only session shares: its limits, the watchdog that stops a statement at
the timeout, and the answer built from the rows kept and the rows counted past them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox_analyst.agent.tools import Column, QueryRows

READ_ONLY_HINT = "this connection is read-only: only SELECT queries (and WITH ... SELECT) run"
_COUNT_BATCH = 10_000  # rows fetched at a time while counting past the limit


@dataclass(frozen=True)
class Limits:
    rows: int = 1000  # rows returned
    count: int = 1_000_000  # rows past those that are counted for the total
    timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    # DuckDB runs in this process: what one of its queries may take of it.
    memory_mb: int = 1024
    threads: int = 2


class Watchdog:
    """Cancels the running statement when the time is up (and remembers that it did)."""

    def __init__(self, cancel: Callable[[], object], timeout_s: float) -> None:
        self.fired = False
        self._cancel = cancel
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        # The connection is going anyway; the caller sees the timeout.
        with contextlib.suppress(Exception):
            self._cancel()

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


def fetch_limited(
    fetchmany: Callable[[int], Sequence[Sequence[Any]]], limits: Limits
) -> tuple[list[tuple[Any, ...]], int]:
    """The first `limits.rows` rows of a cursor, and how many follow them (counted up to just
    past `limits.count`, where counting stops)."""
    rows = [tuple(row) for row in fetchmany(limits.rows)] if limits.rows else []
    extra = 0
    while extra <= limits.count:
        batch = fetchmany(_COUNT_BATCH)
        if not batch:
            break
        extra += len(batch)
    return rows, extra


def answer(
    columns: list[Column], rows: list[tuple[Any, ...]], extra: int, limits: Limits
) -> QueryRows:
    total = None if extra > limits.count else len(rows) + extra
    return QueryRows(columns, rows, total, extra > 0, limits.rows)
