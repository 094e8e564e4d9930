"""Where sessions come from: created with labels, found again by a stable id while they live,
ended for good, listed, and a backend that says how it is."""

from __future__ import annotations

import re
import time

import pytest

from sandbox_analyst.sandbox import (
    SandboxError,
    SandboxNotFoundError,
    SandboxProvider,
    SessionSpec,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_session_is_reached_again_by_its_id_while_it_lives(
    provider: SandboxProvider,
) -> None:
    labels = {"owner": "alice", "purpose": "conversation-1"}
    sandbox = await provider.create(SessionSpec(labels=labels))
    try:
        await sandbox.run_code("answer = 42")
        again = await provider.connect(sandbox.sandbox_id)
        assert again.sandbox_id == sandbox.sandbox_id
        assert (await again.run_code("answer")).text == "42"
        [record] = [r for r in await provider.list_sessions() if r.sandbox_id == sandbox.sandbox_id]
        assert record.labels == labels
        assert record.template
        assert record.started_at <= time.time()
    finally:
        await sandbox.close()


async def test_ended_and_unknown_sessions_are_not_found(provider: SandboxProvider) -> None:
    ended, closed = await provider.create(), await provider.create()
    assert await provider.end(ended.sandbox_id) is True
    await closed.close()
    for sandbox_id in (ended.sandbox_id, closed.sandbox_id, "no-such-session"):
        with pytest.raises(SandboxNotFoundError):
            await provider.connect(sandbox_id)
        assert await provider.end(sandbox_id) is False
    listed = {record.sandbox_id for record in await provider.list_sessions()}
    assert not listed & {ended.sandbox_id, closed.sandbox_id}


async def test_session_ids_are_distinct_and_safe_to_type(provider: SandboxProvider) -> None:
    sandboxes = [await provider.create() for _ in range(4)]
    try:
        ids = [sandbox.sandbox_id for sandbox in sandboxes]
        assert len(set(ids)) == len(ids)
        # Never an option to a command line (`-`), never anything a shell or URL mangles.
        assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", i) for i in ids), ids
    finally:
        for sandbox in sandboxes:
            await sandbox.close()


async def test_an_unknown_template_is_refused_by_name(provider: SandboxProvider) -> None:
    with pytest.raises(SandboxError, match="no-such-template"):
        await provider.create(SessionSpec(template="no-such-template"))


async def test_a_started_backend_reports_itself_ready(provider: SandboxProvider) -> None:
    sandbox = await provider.create()
    try:
        health = await provider.health()
        assert health.backend == provider.backend
        assert health.ready
        assert health.detail
        assert health.sessions >= 1
    finally:
        await sandbox.close()
