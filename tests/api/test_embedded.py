"""`embedded_server`: the whole service, single-user, on a loopback port of this loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.api import EmbeddedServer, SingleUserRefused, embedded_server
from sandbox_analyst.client import AnalystClient
from sandbox_analyst.config import Settings
from tests.fixtures.start_order import imported_when_sandboxes_started


@pytest.mark.asyncio(loop_scope="session")
async def test_it_serves_the_local_admin_without_a_key(embedded: EmbeddedServer) -> None:
    assert embedded.url.startswith("http://127.0.0.1:")
    assert embedded.api_key is None

    async with AnalystClient(embedded.url) as client:
        me = await client.me()

    assert (me["name"], me["role"]) == ("local", "admin")


@pytest.mark.asyncio(loop_scope="session")
async def test_it_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    with pytest.raises(SingleUserRefused):
        async with embedded_server(Settings(data_dir=tmp_path), host="0.0.0.0"):
            pass


def test_its_sandboxes_start_before_the_service_and_the_web_stack_are_imported(
    tmp_path: Path,
) -> None:
    start = f"""
        import asyncio
        from sandbox_analyst.api import embedded_server
        from sandbox_analyst.config import SandboxSettings, Settings

        async def main():
            settings = Settings(
                data_dir={str(tmp_path)!r}, sandbox=SandboxSettings(pool_size=0, preload=[])
            )
            async with embedded_server(settings):
                pass

        asyncio.run(main())
        """
    assert imported_when_sandboxes_started(start) == []
