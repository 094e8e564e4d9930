"""Who may read `/metrics`: an admin's key by default; anyone when `metrics.public`; a client
in `metrics.allow_networks` without a key; nobody when it is switched off."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.config import MetricsSettings, Settings
from tests.api.conftest import World
from tests.fixtures.apps import running_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize(
    ("actor", "status"),
    [("admin", 200), ("owner", 403), ("anonymous", 401), ("revoked", 401)],
)
async def test_only_an_admin_key_reads_the_metrics_by_default(
    world: World, client: httpx.AsyncClient, actor: str, status: int
) -> None:
    response = await client.get("/metrics", headers=world.headers(actor))

    assert response.status_code == status, response.text
    if status == 200:
        assert "# TYPE analyst_executions_total counter" in response.text
        assert "analyst_sessions_live " in response.text
        assert "process_cpu_seconds_total" in response.text
    else:
        assert response.json()["error"]["code"] in ("unauthorized", "forbidden")


async def test_openmetrics_when_the_scraper_asks_for_it(
    world: World, client: httpx.AsyncClient
) -> None:
    accept = "application/openmetrics-text; version=1.0.0"
    response = await client.get("/metrics", headers={**world.headers("admin"), "Accept": accept})

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


@pytest.mark.parametrize(
    ("metrics", "status"),
    [
        (MetricsSettings(public=True), 200),
        (MetricsSettings(allow_networks=["127.0.0.0/8"]), 200),  # the test client's address
        (MetricsSettings(allow_networks=["10.0.0.0/8"]), 401),
        (MetricsSettings(enabled=False), 404),
    ],
)
async def test_anonymous_scrapes_as_configured(
    settings: Settings, metrics: MetricsSettings, status: int
) -> None:
    configured = settings.model_copy(update={"metrics": metrics})
    async with running_app(configured) as application:
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/metrics")

    assert response.status_code == status, response.text
