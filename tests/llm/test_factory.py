"""`create_llm` turns settings (analyst.yaml, environment) into the right adapter."""

import subprocess
import sys

import pytest

from sandbox_analyst.config import (
    ConfigError,
    LLMSettings,
    ProviderSettings,
    Settings,
    load_settings,
)
from sandbox_analyst.llm import (
    AnthropicMessagesLLM,
    LLMAuthError,
    OpenAIChatLLM,
    TextDelta,
    create_llm,
)
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.llm.conftest import QUESTION, collect


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray analyst.yaml
    for name in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_API_VERSION",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "ANALYST_LLM_BASE_URL",
    ]:
        monkeypatch.delenv(name, raising=False)


def write_config(tmp_path, text):
    (tmp_path / "analyst.yaml").write_text(text)


async def test_named_providers_from_analyst_yaml(fake, tmp_path):
    write_config(
        tmp_path,
        f"""
llm:
  provider: ollama
  providers:
    ollama:
      kind: openai
      base_url: {fake.openai_base_url}
      api_key: test-key
      model: qwen3
      stream_tools: false
    claude:
      kind: anthropic
      base_url: {fake.anthropic_base_url}
      api_key: test-key
      model: claude-test
""",
    )
    settings = load_settings()
    default = create_llm(settings)
    claude = create_llm(settings, "claude")
    other_model = create_llm(settings, "claude", "claude-other")
    try:
        assert isinstance(default.inner, OpenAIChatLLM)
        assert (default.provider, default.model) == ("ollama", "qwen3")
        assert isinstance(claude.inner, AnthropicMessagesLLM)
        assert (claude.provider, claude.model) == ("claude", "claude-test")
        assert other_model.model == "claude-other"
        fake.add_turns(Turn(text="hi"), Turn(text="hello"))
        assert await collect(default.stream(QUESTION)) != []
        assert TextDelta("hello") in await collect(claude.stream(QUESTION))
        assert [r.json["model"] for r in fake.model_requests] == ["qwen3", "claude-test"]
    finally:
        for llm in (default, claude, other_model):
            await llm.aclose()


async def test_keys_fall_back_to_the_usual_environment_variables(fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    local = ProviderSettings(kind="anthropic", model="m", base_url=fake.anthropic_base_url)
    llm = create_llm(Settings(llm=LLMSettings(providers={"local": local})), "local")
    fake.add_turns(Turn(text="ok"))
    try:
        assert TextDelta("ok") in await collect(llm.stream(QUESTION))
    finally:
        await llm.aclose()


async def test_analyst_llm_base_url_points_the_default_endpoint(fake, monkeypatch):
    monkeypatch.setenv("ANALYST_LLM_BASE_URL", fake.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    llm = create_llm(load_settings())
    fake.add_turns(Turn(text="ok"))
    try:
        assert llm.base_url == fake.openai_base_url
        assert TextDelta("ok") in await collect(llm.stream(QUESTION))
    finally:
        await llm.aclose()


async def test_azure_through_the_deployment_url(fake, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    llm = create_llm(Settings(), "azure", "my-deployment")
    fake.add_turns(Turn(text="ok"))
    try:
        assert TextDelta("ok") in await collect(llm.stream(QUESTION, max_tokens=5))
    finally:
        await llm.aclose()
    [request] = fake.model_requests
    assert request.path == "/openai/deployments/my-deployment/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == "test-key"
    assert request.json["max_completion_tokens"] == 5


def test_a_missing_key_for_a_cloud_provider_is_an_auth_error_naming_the_variable():
    with pytest.raises(LLMAuthError, match="ANTHROPIC_API_KEY"):
        create_llm(Settings(), "anthropic", "claude-x")


async def test_a_local_server_needs_no_key():
    with FakeLLMServer([Turn(text="ok")], api_key=None) as keyless:
        llm = create_llm(Settings(llm=LLMSettings(base_url=keyless.openai_base_url)))
        try:
            assert TextDelta("ok") in await collect(llm.stream(QUESTION))
        finally:
            await llm.aclose()
    assert keyless.model_requests[0].json["model"] == "gpt-4o-mini"


def test_unknown_providers_and_missing_models_are_config_errors():
    with pytest.raises(ConfigError, match="unknown LLM provider 'nope'"):
        create_llm(Settings(), "nope")
    with pytest.raises(ConfigError, match="no model"):
        create_llm(Settings(), "anthropic")
    with pytest.raises(ValueError, match="neither a kind"):
        LLMSettings(provider="nope")


def test_opening_a_client_on_an_event_loop_lets_the_loop_run_meanwhile() -> None:
    # In a fresh interpreter, where the first client still has its SDK to import.
    probe = """
import asyncio, sys
from sandbox_analyst.config import LLMSettings, Settings
from sandbox_analyst.llm import open_llm

async def main():
    ticks = 0
    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)
    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    assert "openai" not in sys.modules
    before = ticks
    llm = await open_llm(Settings(llm=LLMSettings(base_url="http://127.0.0.1:9/v1", model="m")))
    print(ticks - before, "openai" in sys.modules)
    ticker.cancel()
    await llm.aclose()

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ticks, imported = done.stdout.split()
    assert int(ticks) > 0
    assert imported == "True"
