"""An assistant that names a template, in a real chat: its code has the template's packages; a
missing module is explained (template and remedy); install_package and a `%pip install` cell ask
the server, which installs what is allowed and queues the rest for an admin. The template's
build comes from a package index on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.sandbox.templates import (
    BuildStore,
    PackageIndex,
    TemplateBuilder,
    TemplateCatalog,
    UvRunner,
)
from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from sandbox_analyst.testing.package_index import LocalPackageIndex
from tests.api.chat.conftest import make_chatter
from tests.fixtures.sandboxes import CHAT_SANDBOX

pytestmark = pytest.mark.asyncio(loop_scope="session")

TEMPLATE_SANDBOX = CHAT_SANDBOX.model_copy(update={"pool_size": 1, "preload": []})


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index = LocalPackageIndex(tmp_path_factory.mktemp("chat-index"))
    index.add_wheel("analyst-probe", "1.0", {"analyst_probe/__init__.py": "VALUE = 'probe'\n"})
    index.add_wheel("analyst-words", "1.0", {"analyst_words/__init__.py": "WORDS = ['a', 'b']\n"})
    index.add_wheel("analyst-extra", "1.0", {"analyst_extra/__init__.py": "EXTRA = 1\n"})
    with index.serving() as url:
        yield url


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's data directory for the module: the template builds live there, where
    both the sandbox backend and the API's template list look for them."""
    return tmp_path_factory.mktemp("chat-templates") / "data"


@pytest.fixture(scope="module")
def catalog(data_dir: Path, index_url: str) -> TemplateCatalog:
    store = BuildStore(data_dir / "templates")
    uv = UvRunner(PackageIndex(index_url), cache_dir=data_dir.parent / "uv-cache")
    catalog = TemplateCatalog(data_dir / "templates", store, TemplateBuilder(store, uv))
    catalog.templates_dir.mkdir(parents=True)
    (catalog.templates_dir / "probe.yaml").write_text("packages: [analyst-probe==1.0]\n")
    catalog.build(["probe"])
    return catalog


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def template_sessions(
    tmp_path_factory: pytest.TempPathFactory, catalog: TemplateCatalog
) -> AsyncIterator[SessionManager]:
    root = tmp_path_factory.mktemp("chat-template-sessions")
    async with LocalProvider(TEMPLATE_SANDBOX, root, templates=catalog) as provider:
        sessions = SessionManager.from_settings(provider, TEMPLATE_SANDBOX)
        await sessions.start()
        yield sessions
        await sessions.shutdown(end_provider=False)


@pytest.fixture
def app_settings(app_settings: Settings, data_dir: Path, index_url: str) -> Settings:
    sandbox = app_settings.sandbox.model_copy(
        update={"package_index": index_url, "allowed_packages": ["analyst-words"]}
    )
    return app_settings.model_copy(update={"sandbox": sandbox, "data_dir": data_dir})


@pytest.fixture
def app_sessions(template_sessions: SessionManager) -> SessionManager:
    return template_sessions


def code(source: str) -> Turn:
    return Turn(tool_calls=[("execute_code", {"code": source})])


async def test_an_assistant_of_a_template_uses_its_packages_and_asks_the_server_for_more(
    fake: FakeLLMServer, services: Services, client: httpx.AsyncClient
) -> None:
    alice = await make_chatter(
        services, client, "alice", assistant={"template": "probe", "allow_installs": True}
    )
    templates = await client.get("/api/templates", headers=alice.headers)
    assert [(t["name"], t["state"], t["usable"]) for t in templates.json()] == [
        ("default", "built-in", True),
        ("probe", "built", True),
    ]
    fake.add_turns(
        code("import analyst_probe\nprint(analyst_probe.VALUE)"),
        code("import analyst_words"),
        Turn(tool_calls=[("install_package", {"name": "analyst-words"})]),
        code("import analyst_words\nprint(analyst_words.WORDS)"),
        code("%pip install analyst-extra"),
        Turn(text="Done."),
    )

    reply = await alice.ask("Use the probe.")

    results = reply.of("tool_result")
    assert [result["success"] for result in results] == [True, False, True, True, False]
    assert "probe" in reply.stdout
    assert "['a', 'b']" in reply.stdout
    observations = [last_tool_result(request.json or {}) or "" for request in fake.model_requests]
    missing = observations[2]
    assert "'analyst_words' is not installed in this sandbox (template 'probe')" in missing
    assert "install_package(name='analyst-words')" in missing
    assert "installed analyst-words 1.0" in observations[3]
    assert "waits for an admin's approval" in observations[5]
    tools = [tool["function"]["name"] for tool in fake.model_requests[0].json["tools"]]
    assert "install_package" in tools
    (request,) = await services.packages.requests()
    assert request.name == "analyst-extra"
    log = [(entry.name, entry.outcome) for entry in await services.packages.log()]
    assert log == [("analyst-extra", "pending"), ("analyst-words", "installed")]
    # The %pip cell was answered by the server: no execution to log or replay.
    executions = await services.conversations.list_executions(
        Principal("audit", "audit", is_admin=True), alice.conversation_id
    )
    assert not any("%pip" in execution.code for execution in executions)
    assert len(executions) == 3


async def test_an_unknown_template_is_refused_when_the_assistant_is_saved(
    services: Services, client: httpx.AsyncClient
) -> None:
    viewer = await make_chatter(services, client, "bob")
    response = await client.patch(
        f"/api/assistants/{viewer.assistant_id}", json={"template": "nope"}, headers=viewer.headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "template"
    assert "no sandbox template named 'nope' (known: default, probe)" in error["message"]
