"""`WorkerProcess`: every way the channel to a worker can break means "worker lost", in one way.

The worker here is a stand-in (`sleep` in a session of its own, so that killing its process
group is safe) with our end of a socket pair; the test plays the worker's end.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox.local.protocol import MAX_FRAME, encode
from sandbox_analyst.sandbox.local.spawner import Lost, WorkerProcess

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def channel(tmp_path: Path) -> AsyncIterator[tuple[WorkerProcess, socket.socket]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    stand_in = subprocess.Popen(["sleep", "60"], start_new_session=True)  # noqa: ASYNC220
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    worker = WorkerProcess(
        worker_id="w",
        pid=stand_in.pid,
        cwd=str(tmp_path),
        workdir=tmp_path,
        reader=reader,
        writer=writer,
        exit=asyncio.get_running_loop().create_future(),
    )
    worker.start_reading()
    try:
        yield worker, theirs
    finally:
        theirs.close()
        await worker.close()
        stand_in.kill()
        stand_in.wait()


async def test_a_frame_is_read_whole(channel) -> None:
    worker, theirs = channel
    theirs.sendall(encode({"type": "pong"}))
    assert await worker.next_frame() == {"type": "pong"}
    assert worker.alive


async def test_writing_to_a_closed_channel_is_a_lost_worker_not_an_exception(channel) -> None:
    worker, theirs = channel
    theirs.close()  # the worker died before the loop noticed
    assert await worker.send({"op": "execute", "code": "1"}) is False
    lost = await worker.next_frame()
    assert isinstance(lost, Lost)
    assert not worker.alive
    assert await worker.send({"op": "ping"}) is False
    assert await worker.next_frame() is lost  # every later reader learns the same


async def test_end_of_stream_is_a_lost_worker(channel) -> None:
    worker, theirs = channel
    theirs.shutdown(socket.SHUT_WR)
    lost = await worker.next_frame()
    assert isinstance(lost, Lost)
    assert lost.reason == "its channel closed"
    assert not lost.violation


async def test_a_frame_cut_short_is_a_lost_worker(channel) -> None:
    worker, theirs = channel
    theirs.sendall(struct.pack(">I", 100) + b'{"type"')
    theirs.shutdown(socket.SHUT_WR)
    lost = await worker.next_frame()
    assert isinstance(lost, Lost)
    assert "middle of a frame" in lost.reason
    assert not lost.violation


async def test_an_oversized_frame_is_reported_as_such(channel) -> None:
    worker, theirs = channel
    theirs.sendall(struct.pack(">I", MAX_FRAME + 1))
    lost = await worker.next_frame()
    assert isinstance(lost, Lost)
    assert lost.violation
    assert "over the 64 MiB limit" in lost.reason


async def test_a_malformed_frame_is_a_violation(channel) -> None:
    worker, theirs = channel
    body = b"[1, 2]"
    theirs.sendall(struct.pack(">I", len(body)) + body)
    lost = await worker.next_frame()
    assert isinstance(lost, Lost)
    assert lost.violation
    assert "malformed frame" in lost.reason
