"""`embedded_server`: the whole service, single-user, on a loopback port of this loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.api import EmbeddedServer, SingleUserRefused, embedded_server
from sandbox_analyst.client import AnalystClient
from sandbox_analyst.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_it_serves_the_local_admin_without_a_key(embedded: EmbeddedServer) -> None:
    assert embedded.url.startswith("http://127.0.0.1:")
    assert embedded.api_key is None

    async with AnalystClient(embedded.url) as client:
        me = await client.me()

    assert (me["name"], me["role"]) == ("local", "admin")


async def test_it_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    with pytest.raises(SingleUserRefused):
        async with embedded_server(Settings(data_dir=tmp_path), host="0.0.0.0"):
            pass
