"""Running code in the local backend: the worker's environment is built from scratch."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool
from tests.sandbox.conftest import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_thread_counts_are_limited(sandbox: LocalSandbox) -> None:
    execution = await sandbox.run_code("import os\nos.environ['OPENBLAS_NUM_THREADS']")
    assert execution.text == "'1'"


async def test_server_environment_does_not_leak(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("ANALYST_DATABASE_URL", "postgresql://secret@db/analyst")
    async with SandboxPool(sandbox_settings(pool_size=0), tmp_path) as fresh_pool:
        sandbox = await fresh_pool.acquire()
        execution = await sandbox.run_code(
            "import os\nsorted(k for k in os.environ if 'KEY' in k or k.startswith('ANALYST'))"
        )
    assert execution.text == "[]"
