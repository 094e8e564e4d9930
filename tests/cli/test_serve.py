"""`analyst serve`: single-user mode only on loopback, first-start hint, a working server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sandbox_analyst.api import create_app, is_loopback
from sandbox_analyst.cli import app
from sandbox_analyst.cli import serve as serve_module
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from sandbox_analyst.testing.s3_server import REGION, LocalS3Server
from tests.conftest import LiveServer, free_port, started
from tests.fixtures.start_order import imported_when_sandboxes_started


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_single_user_mode_is_refused_off_loopback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--single-user"])
    assert result.exit_code == 2
    assert "only allowed on a loopback address" in " ".join(result.output.split())


@pytest.fixture
def logging_setups() -> list[tuple[str, str]]:
    """The log setups `analyst serve` asked for (format, level), recorded by `served`."""
    return []


@pytest.fixture
def served(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, logging_setups: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Runs of `uvicorn.run` made by `analyst serve`, recorded instead of serving."""
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYST_DATABASE_URL", settings.effective_database_url)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        serve_module.uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs})
    )
    # The log setup is recorded too, not applied to the test process's loggers.
    monkeypatch.setattr(
        serve_module,
        "configure_logging",
        lambda log_format, level: logging_setups.append((log_format, level)),
    )
    return calls


def test_first_start_explains_how_to_create_a_key(live_server: LiveServer) -> None:
    live_server.start()
    assert "analyst users create NAME --admin" in live_server.log.read_text()


def test_serving_starts_with_the_given_address(served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8123)


def test_serving_logs_in_the_configured_format_through_one_handler(
    served: list[dict[str, Any]],
    logging_setups: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANALYST_LOGGING__FORMAT", "json")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert logging_setups == [("json", "INFO")]
    # uvicorn leaves the logging set up alone, and logs no access lines of its own (the app
    # logs requests by route template, without their query strings).
    assert (served[0]["log_config"], served[0]["access_log"]) == (None, False)


async def test_single_user_serving_needs_no_hint(served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["serve", "--single-user"])
    assert result.exit_code == 0, result.output
    assert "users create" not in result.output
    async with started(served[0]["app"]) as starting:
        application = await starting.wait_started()
        assert application.state.settings.server.single_user


async def test_serve_answers_while_its_sandboxes_warm_and_a_first_turn_completes(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeLLMServer() as fake:
        for name, value in {
            "ANALYST_LLM__BASE_URL": fake.openai_base_url,
            "ANALYST_LLM__API_KEY": "test-key",
            "ANALYST_SANDBOX__PRELOAD": '["pandas", "matplotlib.pyplot"]',
            "ANALYST_SANDBOX__POOL_SIZE": "1",
        }.items():
            monkeypatch.setenv(name, value)
        code = "import pandas as pd\nprint('total', pd.Series([1, 2, 3]).sum())"
        fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), Turn(text="Six."))
        result = CliRunner().invoke(app, ["serve", "--single-user"])
        assert result.exit_code == 0, result.output

        async with started(served[0]["app"]) as starting:
            transport = httpx.ASGITransport(app=starting)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                health = await client.get("/api/health")
                assert health.status_code == 200

                created = await client.post("/api/assistants", json={"name": "Analyst"})
                assert created.status_code == 201, created.text
                models = (await client.get("/v1/models")).json()["data"]
                model = next(c["id"] for c in models if c["owned_by"] != "sandbox-analyst")
                turn = await client.post(
                    "/v1/chat/completions",
                    json={"model": model, "messages": [{"role": "user", "content": "Sum?"}]},
                    timeout=120,
                )
                assert turn.status_code == 200, turn.text
                assert "Six." in turn.json()["choices"][0]["message"]["content"]
        assert "total 6" in last_tool_result(fake.requests[-1].json or {})


def test_serve_starts_its_sandboxes_before_it_imports_the_app(tmp_path: Path) -> None:
    start = f"""
        import asyncio
        from sandbox_analyst.cli.serve import _build
        from sandbox_analyst.config import SandboxSettings, Settings

        async def main():
            settings = Settings(
                data_dir={str(tmp_path)!r}, sandbox=SandboxSettings(pool_size=0, preload=[])
            )
            settings.server.single_user = True
            application = await _build(settings, None)
            await application.state.services.sandboxes.shutdown()

        asyncio.run(main())
        """
    assert imported_when_sandboxes_started(start) == []


async def test_single_user_mode_acts_as_a_local_admin(settings: Settings) -> None:
    settings.server.single_user = True
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            me = await client.get("/api/me")
            assert me.status_code == 200
            assert (me.json()["name"], me.json()["role"]) == ("local", "admin")
            created = await client.post("/api/assistants", json={"name": "local"})
            assert created.status_code == 201
            # A key that is sent is still checked: a wrong one is refused, not ignored.
            refused = await client.get("/api/me", headers={"Authorization": "Bearer sa_wrong"})
            assert refused.status_code == 401


def test_first_start_creates_the_data_directory_and_says_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "fresh" / "sandbox-analyst"
    monkeypatch.setenv("ANALYST_DATA_DIR", str(data_dir))
    monkeypatch.delenv("ANALYST_DATABASE_URL", raising=False)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serve_module.uvicorn, "run", lambda app, **kw: calls.append(kw))

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8124"])

    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"data directory: {data_dir}" in output
    assert f"database: SQLite, {data_dir / 'analyst.db'}" in output
    assert "http://127.0.0.1:8124" in output  # bound to all addresses: the one to open
    assert (calls[0]["host"], calls[0]["port"]) == ("0.0.0.0", 8124)


def test_a_database_password_is_never_printed(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_DATABASE_URL", "postgresql+psycopg://ana:s3cret@db.example/x")

    result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 0, result.output
    assert "postgresql+psycopg://ana:***@db.example/x" in result.output
    assert "s3cret" not in result.output


def test_serve_also_serves_the_e2b_api_on_its_port(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ANALYST_SERVER__E2B_PORT`: the official E2B SDK, pointed at that port with one of our
    API keys, creates a sandbox and runs code in it; another user's key cannot reach it."""
    from e2b import NotFoundException
    from e2b_code_interpreter import Sandbox

    keys = asyncio.run(_two_users(live_server.settings))
    e2b_port = free_port()
    monkeypatch.setenv("ANALYST_SERVER__E2B_PORT", str(e2b_port))
    live_server.start()
    url = f"http://127.0.0.1:{e2b_port}"
    assert f"E2B-compatible API on {url}" in " ".join(live_server.log.read_text().split())
    sandbox = Sandbox.create(api_key=keys[0], api_url=url, sandbox_url=url)
    try:
        assert sandbox.run_code("sum(range(10))").text == "45"
        with pytest.raises(NotFoundException):
            Sandbox.connect(sandbox.sandbox_id, api_key=keys[1], api_url=url, sandbox_url=url)
    finally:
        sandbox.kill()
    # The main API is still on its own port.
    assert httpx.get(f"{live_server.base_url}/api/health").status_code == 200


async def _two_users(settings: Settings) -> list[str]:
    async with Services.running(settings) as services:
        keys = []
        for name in ("owner", "stranger"):
            user = await services.users.create_user(name)
            keys.append((await services.users.create_key(user.id)).secret)
        return keys


def s3_environment(monkeypatch: pytest.MonkeyPatch, s3_server: LocalS3Server, bucket: str) -> None:
    monkeypatch.setenv("ANALYST_STORAGE__BLOBS", "s3")
    monkeypatch.setenv("ANALYST_STORAGE__S3__BUCKET", bucket)
    monkeypatch.setenv("ANALYST_STORAGE__S3__ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("ANALYST_STORAGE__S3__REGION", REGION)
    monkeypatch.setenv("ANALYST_STORAGE__S3__ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("ANALYST_STORAGE__S3__SECRET_ACCESS_KEY", s3_server.secret_access_key)


def test_serving_says_which_bucket_holds_the_files(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, s3_server: LocalS3Server
) -> None:
    bucket = s3_server.create_bucket()
    s3_environment(monkeypatch, s3_server, bucket)
    result = CliRunner().invoke(app, ["serve", "--single-user"])
    assert result.exit_code == 0, result.output
    assert f"blob storage: S3 bucket {bucket!r} at {s3_server.endpoint_url}" in result.output
    assert served


def test_a_missing_bucket_stops_serving_with_a_clear_error(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, s3_server: LocalS3Server
) -> None:
    s3_environment(monkeypatch, s3_server, "no-such-bucket")
    result = CliRunner().invoke(app, ["serve", "--single-user"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert (
        f"error: blob storage: the bucket 'no-such-bucket' at {s3_server.endpoint_url} "
        "does not exist: create it, or set storage.s3.bucket to an existing one"
    ) in said
    assert "Traceback" not in result.output
    assert served == []
