"""The queued writer: callers on the event loop never wait; items are stored in order, in
batches; a failing store loses its batch and not the writer; a flood past the bound is dropped."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sandbox_analyst.service.queued_writer import QueuedWriter


async def test_items_are_stored_in_order_in_batches_without_the_caller_waiting() -> None:
    stored: list[list[int]] = []
    gate = asyncio.Event()

    async def store(items: list[int]) -> None:
        await gate.wait()
        stored.append(items)

    writer = QueuedWriter(store, what="numbers", batch=2)
    for number in range(5):
        writer.put(number)  # returns at once though the store is held
    assert stored == []
    gate.set()
    await writer.flush()
    assert stored == [[0, 1], [2, 3], [4]]


async def test_a_failing_store_loses_its_batch_and_says_so_then_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored: list[int] = []

    async def store(items: list[int]) -> None:
        if 0 in items:
            raise OSError("database away")
        stored.extend(items)

    writer = QueuedWriter(store, what="numbers", batch=1)
    with caplog.at_level(logging.ERROR):
        for number in range(3):
            writer.put(number)
        await writer.flush()
    assert stored == [1, 2]
    assert "could not store 1 numbers" in caplog.text


async def test_past_the_bound_new_items_are_dropped_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored: list[int] = []

    async def store(items: list[int]) -> None:
        stored.extend(items)

    writer = QueuedWriter(store, what="numbers", max_queued=3)
    with caplog.at_level(logging.WARNING):
        for number in range(5):  # nothing is written until the loop runs the writer
            writer.put(number)
        await writer.flush()
    assert stored == [0, 1, 2]
    assert "2 numbers were dropped" in caplog.text
