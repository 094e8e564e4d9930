"""The E2B sandbox bookkeeping of the service: who may reach a sandbox, with what, for how
long. Real sessions from one pool shared by the module, a fresh database per test."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from sandbox_analyst.config import SandboxSettings, Settings
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.sandbox.local import LocalProvider
from sandbox_analyst.sandbox.templates import TemplateNotFoundError
from sandbox_analyst.service import Principal, Services, ValidationError
from sandbox_analyst.service.e2b import (
    E2BSandboxService,
    InvalidAccessToken,
    InvalidTimeout,
    ManagedSessions,
    SandboxNotRunning,
    TemplateNotFound,
)
from sandbox_analyst.store import E2BSandbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

SANDBOX = SandboxSettings(pool_size=1, timeout=20.0, max_sessions=16)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pool(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SessionManager]:
    async with LocalProvider(SANDBOX, tmp_path_factory.mktemp("service-e2b")) as provider:
        sessions = SessionManager.from_settings(provider, SANDBOX)
        await sessions.start()
        yield sessions
        await sessions.shutdown(end_provider=False)


@pytest_asyncio.fixture(loop_scope="session")
async def services(settings: Settings, pool: SessionManager) -> AsyncIterator[Services]:
    running = Services.from_settings(settings, sessions=pool)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def e2b(services: Services) -> E2BSandboxService:
    return services.e2b


async def _principal(services: Services, name: str) -> Principal:
    user = await services.users.create_user(name)
    return Principal(user_id=user.id, name=user.name)


@pytest_asyncio.fixture(loop_scope="session")
async def alice(services: Services) -> Principal:
    return await _principal(services, "alice")


@pytest_asyncio.fixture(loop_scope="session")
async def bob(services: Services) -> Principal:
    return await _principal(services, "bob")


async def test_only_the_owner_sees_reaches_or_ends_a_sandbox(
    e2b: E2BSandboxService, alice: Principal, bob: Principal
) -> None:
    view = await e2b.create(alice, template_id="base", timeout=60)
    for attempt in (
        e2b.get(bob, view.sandbox_id),
        e2b.kill(bob, view.sandbox_id),
        e2b.set_timeout(bob, view.sandbox_id, 10),
        e2b.connect(bob, view.sandbox_id, None),
    ):
        with pytest.raises(SandboxNotRunning):
            await attempt
    assert await e2b.list(bob) == []
    assert [item.sandbox_id for item in await e2b.list(alice)] == [view.sandbox_id]
    await e2b.kill(alice, view.sandbox_id)
    with pytest.raises(SandboxNotRunning):
        await e2b.get(alice, view.sandbox_id)


async def test_the_access_token_is_the_only_way_in(
    e2b: E2BSandboxService, alice: Principal
) -> None:
    first = await e2b.create(alice, template_id=None, timeout=60)
    second = await e2b.create(alice, template_id=None, timeout=60)
    try:
        assert first.access_token != second.access_token
        assert e2b.reach(first.sandbox_id, first.access_token).sandbox_id == first.sandbox_id
        for token in (None, "", second.access_token, first.access_token[:-1]):
            with pytest.raises(InvalidAccessToken):
                e2b.reach(first.sandbox_id, token)
        with pytest.raises(SandboxNotRunning):
            e2b.reach("inothere", first.access_token)
        # connect hands the same token again (another process of the server derives it too).
        assert (await e2b.connect(alice, first.sandbox_id, None)).access_token == (
            first.access_token
        )
    finally:
        await e2b.kill(alice, first.sandbox_id)
        await e2b.kill(alice, second.sandbox_id)


async def test_presigned_urls_name_one_path_one_operation_and_may_expire(
    e2b: E2BSandboxService, alice: Principal
) -> None:
    view = await e2b.create(alice, template_id=None, timeout=60)

    def sign(path: str, operation: str, expiration: int | None = None) -> str:
        raw = f"{path}:{operation}::{view.access_token}"
        if expiration is not None:
            raw += f":{expiration}"
        return "v1_" + base64.b64encode(hashlib.sha256(raw.encode()).digest()).decode().rstrip("=")

    def reach(path: str, operation: str, signature: str, expiration: int | None = None) -> None:
        e2b.reach_signed(
            view.sandbox_id,
            path=path,
            operation=operation,
            user="",
            signature=signature,
            expiration=expiration,
        )

    try:
        reach("/home/user/a", "read", sign("/home/user/a", "read"))
        later = int(time.time()) + 60
        reach("/home/user/a", "write", sign("/home/user/a", "write", later), later)
        with pytest.raises(InvalidAccessToken):
            reach("/home/user/b", "read", sign("/home/user/a", "read"))
        with pytest.raises(InvalidAccessToken):
            reach("/home/user/a", "write", sign("/home/user/a", "read"))
        past = int(time.time()) - 1
        with pytest.raises(InvalidAccessToken, match="expired"):
            reach("/home/user/a", "read", sign("/home/user/a", "read", past), past)
    finally:
        await e2b.kill(alice, view.sandbox_id)


async def test_lifetimes_are_checked_and_only_extended_by_connect(
    e2b: E2BSandboxService, alice: Principal
) -> None:
    for bad in (0, -5, 10**9, True):
        with pytest.raises(InvalidTimeout):
            await e2b.create(alice, template_id=None, timeout=bad)  # type: ignore[arg-type]
    view = await e2b.create(alice, template_id=None, timeout=None)
    try:
        assert round((view.end_at - view.started_at).total_seconds()) == 300
        shorter = await e2b.connect(alice, view.sandbox_id, 10)
        assert shorter.end_at == view.end_at
        longer = await e2b.connect(alice, view.sandbox_id, 3600)
        assert longer.end_at > view.end_at
        await e2b.set_timeout(alice, view.sandbox_id, 30)
        assert (await e2b.get(alice, view.sandbox_id)).end_at < longer.end_at
    finally:
        await e2b.kill(alice, view.sandbox_id)


async def test_an_expired_sandbox_ends_and_its_record_says_why(
    e2b: E2BSandboxService, services: Services, alice: Principal
) -> None:
    view = await e2b.create(alice, template_id=None, timeout=1)
    live = e2b.reach(view.sandbox_id, view.access_token)
    # The session closes first and the record is written once its workdir is gone: wait for
    # the record, which is what a client reads.
    for _ in range(200):
        async with services.db.session() as db:
            row = await db.scalar(select(E2BSandbox).where(E2BSandbox.id == view.sandbox_id))
        assert row is not None
        if row.ended_at is not None:
            break
        await asyncio.sleep(0.05)
    assert live.session.closed
    assert not e2b.is_running(view.sandbox_id)
    assert row.end_reason == "timeout"


async def test_stopping_the_service_ends_its_sandboxes(
    settings: Settings, pool: SessionManager
) -> None:
    services = Services.from_settings(settings, sessions=pool)
    await services.start()
    owner = await _principal(services, "carol")
    view = await services.e2b.create(owner, template_id=None, timeout=600)
    session = services.e2b.reach(view.sandbox_id, view.access_token).session
    await services.stop()
    assert session.closed
    again = Services.from_settings(settings, sessions=pool)
    await again.start()
    try:
        async with again.db.session() as db:
            row = await db.get(E2BSandbox, view.sandbox_id)
        assert row is not None
        assert row.end_reason == "server_stopped"
    finally:
        await again.stop()


async def test_templates_metadata_and_env_vars_are_checked(
    e2b: E2BSandboxService, alice: Principal
) -> None:
    with pytest.raises(TemplateNotFound):
        await e2b.create(alice, template_id="gpu-monster", timeout=60)
    with pytest.raises(ValidationError):
        await e2b.create(alice, template_id=None, timeout=60, metadata={"k": 1})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        await e2b.create(alice, template_id=None, timeout=60, env_vars={"A": "x\x00y"})
    assert await e2b.list(alice) == []


async def test_the_session_source_puts_sandboxes_in_the_shared_session_manager(
    pool: SessionManager,
) -> None:
    sessions = ManagedSessions(pool)
    before = pool.count("someone")
    session = await sessions.open(("someone", "ix"), {"LEVEL": "sandbox"})
    assert pool.count("someone") == before + 1
    assert (await session.run_code("import os\nos.environ['LEVEL']")).text == "'sandbox'"
    await sessions.end(("someone", "ix"))
    assert session.closed
    assert pool.count("someone") == before


async def test_a_template_id_names_our_templates_besides_e2bs_names_for_the_default(
    settings: Settings, e2b: E2BSandboxService, alice: Principal
) -> None:
    templates_dir = settings.data_dir / "templates"
    templates_dir.mkdir(parents=True, exist_ok=True)
    (templates_dir / "probe.yaml").write_text("packages: [analyst-probe]\n")
    with pytest.raises(TemplateNotFound, match=r"offers: default, base, .*, probe"):
        await e2b.create(alice, template_id="gpu-monster", timeout=60)
    # A known template reaches the backend (this test's has no templates): a clear error.
    with pytest.raises(TemplateNotFoundError, match="'probe'"):
        await e2b.create(alice, template_id="probe:latest", timeout=60)
    assert await e2b.list(alice) == []
    view = await e2b.create(alice, template_id="code-interpreter-v1", timeout=60)
    assert view.template_id == "code-interpreter-v1"
    await e2b.kill(alice, view.sandbox_id)
