"""An assistant's own egress allow-list, set by an admin, narrows what its turns' code may
reach below the server's; every connection, allowed or refused, lands in the audit log with
whose session it was, which admins read (`GET /api/admin/egress`, `analyst egress log`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.sandbox.local.isolation import LayerName
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.chat.conftest import Chatter, make_chatter
from tests.fixtures.egress import hello_servers
from tests.fixtures.sandboxes import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[int, ...]]:
    """Two HTTP servers on 127.0.0.1, both in the server's allow-list."""
    with hello_servers(2) as ports:
        yield ports


@dataclass
class EgressApp:
    services: Services
    client: httpx.AsyncClient
    admin: dict[str, str]


@pytest_asyncio.fixture(loop_scope="session")
async def egress_app(app_settings: Settings, hosts: tuple[int, ...]) -> AsyncIterator[EgressApp]:
    """The app on a backend of its own whose sandboxes may reach both hosts."""
    allow = [f"127.0.0.1:{port}" for port in hosts]
    sandbox = sandbox_settings(pool_size=1, max_sessions=8, egress={"allow": allow})
    application = create_app(app_settings.model_copy(update={"sandbox": sandbox}))
    async with application.router.lifespan_context(application):
        services: Services = application.state.services
        await services.sandboxes.start()
        provider = services.sandboxes.sessions.provider
        assert isinstance(provider, LocalProvider)
        report = provider.pool.isolation_report
        if report is None or not report.layer(LayerName.NETWORK).active:
            pytest.skip("controlled egress needs the network namespace layer")
        root = await services.users.create_user("root", admin=True)
        admin = {"Authorization": f"Bearer {(await services.users.create_key(root.id)).secret}"}
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as client:
            yield EgressApp(services, client, admin)


def fetch(port: int) -> str:
    return (
        "import urllib.request\n"
        "try:\n"
        f"    print(urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=10).read())\n"
        "except Exception as error:\n"
        "    print('refused:', error)"
    )


async def run(chatter: Chatter, fake: FakeLLMServer, code: str) -> str:
    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), Turn(text="Done."))
    reply = await chatter.ask("Fetch it.")
    assert reply.end["status"] == "complete", reply.events
    return reply.stdout


async def test_an_admin_narrows_an_assistant_and_its_code_reaches_only_what_both_allow(
    egress_app: EgressApp, fake: FakeLLMServer, hosts: tuple[int, ...]
) -> None:
    first, second = hosts
    nora = await make_chatter(egress_app.services, egress_app.client, "nora")
    narrowed = await egress_app.client.patch(
        f"/api/assistants/{nora.assistant_id}",
        json={"egress": [f"127.0.0.1:{first}"]},
        headers=egress_app.admin,
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["egress"] == [f"127.0.0.1:{first}"]

    assert await run(nora, fake, fetch(first)) == "b'hello'\n"
    refused = await run(nora, fake, fetch(second))
    assert refused.startswith("refused:")
    assert f"127.0.0.1:{second} is not in the egress allow-list" in refused

    log = await egress_app.client.get(
        "/api/admin/egress", params={"user": "nora"}, headers=egress_app.admin
    )
    assert log.status_code == 200, log.text
    seen = [(row["port"], row["allowed"], row["purpose"]) for row in log.json()]
    assert seen == [  # newest first
        (second, False, nora.conversation_id),
        (first, True, nora.conversation_id),
    ]
    denied = await egress_app.client.get(
        "/api/admin/egress", params={"user": "nora", "denied": "true"}, headers=egress_app.admin
    )
    assert [row["port"] for row in denied.json()] == [second]
    assert denied.json()[0]["reason"].startswith(f"127.0.0.1:{second} is not in")


async def test_without_a_narrowing_the_servers_list_applies(
    egress_app: EgressApp, fake: FakeLLMServer, hosts: tuple[int, ...]
) -> None:
    omar = await make_chatter(egress_app.services, egress_app.client, "omar")
    assert await run(omar, fake, fetch(hosts[1])) == "b'hello'\n"


async def test_an_empty_list_seals_the_assistants_sandboxes(
    egress_app: EgressApp, fake: FakeLLMServer, hosts: tuple[int, ...]
) -> None:
    pia = await make_chatter(egress_app.services, egress_app.client, "pia")
    sealed = await egress_app.client.patch(
        f"/api/assistants/{pia.assistant_id}", json={"egress": []}, headers=egress_app.admin
    )
    assert sealed.status_code == 200, sealed.text
    assert (await run(pia, fake, fetch(hosts[0]))).startswith("refused:")


async def test_only_an_admin_sets_an_assistants_egress_and_bad_entries_name_the_field(
    egress_app: EgressApp,
) -> None:
    quinn = await make_chatter(egress_app.services, egress_app.client, "quinn")
    mine = await egress_app.client.patch(
        f"/api/assistants/{quinn.assistant_id}", json={"egress": []}, headers=quinn.headers
    )
    assert mine.status_code == 403, mine.text
    assert mine.json()["error"]["field"] == "egress"
    created = await egress_app.client.post(
        "/api/assistants", json={"name": "open", "egress": ["x:1"]}, headers=quinn.headers
    )
    assert created.status_code == 403, created.text
    bad = await egress_app.client.patch(
        f"/api/assistants/{quinn.assistant_id}",
        json={"egress": ["example.com"]},
        headers=egress_app.admin,
    )
    assert bad.status_code == 422, bad.text
    assert "a port is required" in bad.text
    log = await egress_app.client.get("/api/admin/egress", headers=quinn.headers)
    assert log.status_code == 403, log.text
    unknown = await egress_app.client.get(
        "/api/admin/egress", params={"user": "nobody"}, headers=egress_app.admin
    )
    assert unknown.status_code == 404, unknown.text


async def test_a_fork_of_a_narrowed_conversation_keeps_the_narrowing(
    egress_app: EgressApp, fake: FakeLLMServer, hosts: tuple[int, ...]
) -> None:
    first, second = hosts
    uma = await make_chatter(egress_app.services, egress_app.client, "uma")
    narrowed = await egress_app.client.patch(
        f"/api/assistants/{uma.assistant_id}",
        json={"egress": [f"127.0.0.1:{first}"]},
        headers=egress_app.admin,
    )
    assert narrowed.status_code == 200, narrowed.text
    assert await run(uma, fake, fetch(first)) == "b'hello'\n"

    forked = await egress_app.client.post(
        f"/api/conversations/{uma.conversation_id}/fork", json={}, headers=uma.headers
    )
    assert forked.status_code == 201, forked.text
    fork = Chatter(egress_app.client, uma.headers, uma.assistant_id, forked.json()["id"])
    assert (await run(fork, fake, fetch(second))).startswith("refused:")
