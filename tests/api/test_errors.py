"""Both HTTP front ends answer an error from the code and status its class declares, in their
own shapes: `/api` as `{"error": {"code", "message"}}`, `/v1` as OpenAI does. A new error
class is answered right with no change to either."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter

from sandbox_analyst.api import create_app
from sandbox_analyst.api.openai_compat.errors import OpenAIRoute
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxError

pytestmark = pytest.mark.asyncio(loop_scope="session")


class SessionQuotaReached(SandboxError):
    code = "session_quota_reached"
    http_status = 429


rest = APIRouter(prefix="/api/test")
# Not under /v1, whose catch-all route answers unknown paths first.
v1 = APIRouter(prefix="/openai-shaped", route_class=OpenAIRoute)


@rest.get("/quota")
@v1.get("/quota")
async def quota() -> None:
    raise SessionQuotaReached("you have 3 sandboxes running; end one first")


@pytest_asyncio.fixture(loop_scope="session")
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, extra_routers=[v1, rest])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_rest_api_answers_a_new_error_class_by_its_attributes(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/api/test/quota")

    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "code": "session_quota_reached",
            "message": "you have 3 sandboxes running; end one first",
        }
    }


async def test_the_openai_api_answers_it_in_openais_shape(http: httpx.AsyncClient) -> None:
    response = await http.get("/openai-shaped/quota")

    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "message": "you have 3 sandboxes running; end one first",
            "type": "rate_limit_error",
            "param": None,
            "code": "session_quota_reached",
        }
    }
