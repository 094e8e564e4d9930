"""Approved installs through the service: a package on an allow-list lands in the session's
overlay and imports in its running interpreter; one on no list waits for an admin (approved
with `analyst packages approve`, then installed on the next request); an assistant that does
not allow installs, and a denied package, are refused; every request is in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.service import AssistantCreate, PackageAsk, Principal, Services
from sandbox_analyst.store import Assistant
from sandbox_analyst.testing.package_index import LocalPackageIndex


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalPackageIndex, str]]:
    index = LocalPackageIndex(tmp_path_factory.mktemp("package-index"))
    index.add_wheel("analyst-words", "1.0", {"analyst_words/__init__.py": "WORDS = ['a', 'b']\n"})
    index.add_wheel(
        "analyst-stats",
        "2.0",
        {"analyst_stats/__init__.py": "from analyst_words import WORDS\nCOUNT = len(WORDS)\n"},
        requires=["analyst-words"],
    )
    index.add_sdist("analyst-sdist", "1.0", canary=tmp_path_factory.mktemp("canary") / "built")
    with index.serving() as url:
        yield index, url


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    index: tuple[LocalPackageIndex, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    environment = {
        "ANALYST_DATA_DIR": str(tmp_path / "data"),
        "ANALYST_DATABASE_URL": database_url,
        "ANALYST_SANDBOX__PACKAGE_INDEX": index[1],
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
    }
    for name, value in environment.items():  # the CLI reads the same settings
        monkeypatch.setenv(name, value)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox={
            "package_index": index[1],
            "pool_size": 1,
            "preload": [],
            "allowed_packages": ["analyst-words"],
        },
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with Services.running(settings) as running:
        yield running


async def session_of(services: Services, assistant: Assistant, owner: Principal) -> Sandbox:
    conversation = await services.conversations.create(owner, assistant.id)
    return await services.sandboxes.acquire(owner.user_id, conversation.id)


@pytest.fixture
async def alice(services: Services) -> Principal:
    user = await services.users.create_user("alice")
    return Principal(user_id=user.id, name=user.name, is_admin=False)


async def cli(*args: str) -> str:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["packages", *args], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output


async def test_an_allowed_package_imports_in_the_running_session(
    services: Services, alice: Principal
) -> None:
    assistant = await services.assistants.create(
        alice,
        AssistantCreate(name="stats", allow_installs=True, allowed_packages=["analyst-stats>=2"]),
    )
    sandbox = await session_of(services, assistant, alice)
    ask = PackageAsk(alice.user_id, None, assistant)
    before = await sandbox.run_code("import analyst_stats")
    assert before.error is not None
    assert before.error.name == "ModuleNotFoundError"
    # The assistant's list allows analyst-stats; its dependency comes along from the index.
    outcome = await services.packages.install(ask, sandbox, "analyst-stats")
    assert (outcome.outcome, outcome.version) == ("installed", "2.0")
    assert "analyst-words 1.0" in outcome.message
    execution = await sandbox.run_code("import analyst_stats\nanalyst_stats.COUNT")
    assert (execution.error, execution.text) == (None, "2")
    # Processes the code starts see the overlay too, and so does a restarted interpreter.
    command = await sandbox.run_command("python3 -c 'import analyst_stats'")
    assert command.exit_code == 0, command.stderr
    await sandbox.restart()
    assert (await sandbox.run_code("import analyst_stats")).error is None
    again = await services.packages.install(ask, sandbox, "analyst-stats")
    assert again.outcome == "already_installed"
    log = await services.packages.log()
    assert [entry.outcome for entry in log] == ["already_installed", "installed"]
    assert {wheel["name"] for wheel in log[1].wheels} == {"analyst-stats", "analyst-words"}


async def test_a_package_on_no_list_waits_for_an_admin_then_installs(
    services: Services, alice: Principal
) -> None:
    assistant = await services.assistants.create(
        alice, AssistantCreate(name="open", allow_installs=True)
    )
    sandbox = await session_of(services, assistant, alice)
    ask = PackageAsk(alice.user_id, None, assistant)
    outcome = await services.packages.install(ask, sandbox, "Analyst_Stats")
    assert outcome.outcome == "pending"
    assert f"analyst packages approve {outcome.request_id}" in outcome.message
    assert (await services.packages.install(ask, sandbox, "analyst-stats")).outcome == "pending"
    listed = await cli("pending")
    assert "analyst-stats" in listed
    assert outcome.request_id in listed
    (request,) = await services.packages.requests()
    assert request.times_requested == 2  # asked twice, one request
    await cli("approve", outcome.request_id or "")
    assert "no package requests waiting" in await cli("pending")
    retried = await services.packages.install(ask, sandbox, "analyst-stats")
    assert retried.outcome == "installed"
    assert (await sandbox.run_code("import analyst_stats")).error is None
    # Folded into a template at the version sessions got, and the template rebuilt.
    template = services.templates.templates_dir / "stats.yaml"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text("packages: [analyst-words]  # the base\n")
    await cli("fold", "stats")
    assert template.read_text() == "packages: [analyst-words, analyst-stats==2.0]  # the base\n"
    assert services.templates.status("stats").state == "built"


async def test_refused_requests_say_why_and_install_nothing(
    services: Services, alice: Principal
) -> None:
    closed = await services.assistants.create(alice, AssistantCreate(name="closed"))
    sandbox = await session_of(services, closed, alice)
    outcome = await services.packages.install(
        PackageAsk(alice.user_id, None, closed), sandbox, "analyst-words"
    )
    assert outcome.outcome == "refused"
    assert "does not allow package installs" in outcome.message
    assert (await sandbox.run_code("import analyst_words")).error is not None

    open_one = await services.assistants.create(
        alice, AssistantCreate(name="open", allow_installs=True, allowed_packages=["*"])
    )
    sandbox = await session_of(services, open_one, alice)
    ask = PackageAsk(alice.user_id, None, open_one)
    # Only an sdist exists: never built (it would run code at install time).
    sdist = await services.packages.install(ask, sandbox, "analyst-sdist")
    assert sdist.outcome == "failed"
    assert "sdist" in sdist.message or "wheel" in sdist.message
    asks = await services.assistants.create(
        alice, AssistantCreate(name="asks", allow_installs=True)
    )
    ask = PackageAsk(alice.user_id, None, asks)
    assert (await services.packages.install(ask, sandbox, "analyst-stats")).outcome == "pending"
    await cli("deny", "analyst-stats", "--note", "not needed here")
    denied = await services.packages.install(ask, sandbox, "analyst-stats")
    assert denied.outcome == "denied"
    assert "not needed here" in denied.message
    assert (await sandbox.run_code("import analyst_stats")).error is not None
    outcomes = [entry.outcome for entry in await services.packages.log()]
    assert outcomes == ["denied", "pending", "failed", "refused"]
