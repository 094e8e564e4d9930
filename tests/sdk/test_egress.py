"""The agent-runner shape: `SandboxManager` starts a sandbox whose egress lists only the
model's endpoint, and an agent on the official Anthropic SDK runs inside it, talks to its model
through the egress proxy (the key only as an env var the caller passed), and writes files that
the caller then lists and reads. Anything else it tries to reach is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_analyst import SandboxManager
from sandbox_analyst.config import SandboxSettings, Settings
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.fixtures.egress import AGENT_SCRIPT, hello_servers

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def model() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="agent-key") as fake:
        yield fake


async def test_an_agent_in_the_sandbox_reaches_only_its_model_and_its_files_are_listed(
    sdk_environment: Path, model: FakeLLMServer
) -> None:
    model_port = int(model.url.rsplit(":", 1)[1])
    settings = Settings(
        data_dir=sdk_environment,
        sandbox=SandboxSettings(
            pool_size=1, max_sessions=2, timeout=60, egress={"allow": [f"127.0.0.1:{model_port}"]}
        ),
    )
    report = {"path": "report.md", "content": "# Findings\nSales rose 12%.\n"}
    model.add_turns(Turn(tool_calls=[("write_file", report)]), Turn(text="Report written."))
    secrets = {"ANTHROPIC_BASE_URL": model.url, "ANTHROPIC_API_KEY": "agent-key"}

    with hello_servers(1) as (unlisted,):
        async with SandboxManager(env_vars=secrets, settings=settings) as sm:
            layers = {layer.name: layer.status for layer in (await sm.provider.health()).layers}
            if layers.get("network namespace") != "active":
                pytest.skip("controlled egress needs the network namespace layer")
            await sm.files.write("agent.py", AGENT_SCRIPT)
            ran = await sm.execute_code("bash", "python agent.py")
            other = await sm.execute_code(
                "python",
                "import urllib.request\n"
                "try:\n"
                f"    urllib.request.urlopen('http://127.0.0.1:{unlisted}/', timeout=10)\n"
                "except Exception as error:\n"
                "    print(error)",
            )
            names = [entry.name for entry in await sm.files.list()]
            written = await sm.files.read("report.md")

    assert ran.exit_code == 0, ran.stderr
    assert "FINAL: Report written." in ran.stdout
    assert "report.md" in names
    assert written == report["content"].encode()
    assert f"127.0.0.1:{unlisted} is not in the egress allow-list" in other.stdout
    assert [request.path for request in model.model_requests] == ["/v1/messages"] * 2
