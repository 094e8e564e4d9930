"""The E2B-compatible API is measured like the main app: each response carries its request id
(the client's `X-Request-ID` when sane), and its requests count in the main app's `/metrics`
by route template, marked `e2b:`."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from sandbox_analyst.service import Services
from tests.api.e2b.conftest import E2BUser
from tests.fixtures.metrics import total

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def scrape(app: FastAPI, services: Services) -> str:
    root = await services.users.create_user(f"root-{uuid.uuid4().hex[:12]}", admin=True)
    key = (await services.users.create_key(root.id)).secret
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.text


async def test_e2b_requests_carry_a_request_id_and_count_by_route(
    app: FastAPI, services: Services, alice: E2BUser
) -> None:
    before = await scrape(app, services)
    async with httpx.AsyncClient(base_url=alice.url) as http:
        listed = await http.get(
            "/sandboxes", headers={"X-API-Key": alice.api_key, "X-Request-ID": "trace-e2b-1"}
        )
        unknown = await http.get("/sandboxes/not-a-sandbox", headers={"X-API-Key": alice.api_key})
    after = await scrape(app, services)

    assert listed.status_code == 200, listed.text
    assert listed.headers["x-request-id"] == "trace-e2b-1"
    assert unknown.status_code == 404
    assert len(unknown.headers["x-request-id"]) == 32  # a new one

    def moved(**labels: str) -> float:
        name = "analyst_http_requests_total"
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved(method="GET", route="e2b:/sandboxes", status="200") == 1
    assert moved(method="GET", route="e2b:/sandboxes/{sandbox_id}", status="404") == 1
