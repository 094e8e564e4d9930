"""Builds the `LLM` for a provider name and a model from the settings."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from sandbox_analyst.config import LLM_KINDS, ConfigError, LLMSettings, ProviderSettings, Settings
from sandbox_analyst.llm.base import LLM
from sandbox_analyst.llm.errors import LLMAuthError
from sandbox_analyst.llm.metered import MeteredLLM
from sandbox_analyst.llm.retry import RetryPolicy

if TYPE_CHECKING:
    import openai

API_KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}
# Local servers (Ollama, vLLM, llama.cpp...) ignore the key, but the SDKs insist on one.
UNUSED_API_KEY = "unused"


async def open_llm(
    settings: Settings, provider: str | None = None, model: str | None = None
) -> LLM:
    """`create_llm`, for code on an event loop: the first client of a kind imports its SDK
    (half a second for openai's), so it is made in a thread and the loop serves everything else
    meanwhile."""
    return await asyncio.to_thread(create_llm, settings, provider, model)


def create_llm(settings: Settings, provider: str | None = None, model: str | None = None) -> LLM:
    """The LLM for `provider` (a name under `llm.providers`, or a kind: openai, azure,
    anthropic; default `llm.provider`) and `model` (default: the provider's model, then
    `llm.model` for the default provider)."""
    name = provider or settings.llm.provider
    endpoint = resolve_endpoint(settings.llm, name)
    chosen = model or endpoint.model
    if not chosen:
        raise ConfigError(
            f"no model named for LLM provider {name!r}: set llm.providers.{name}.model"
        )
    retry = RetryPolicy(endpoint.max_retries, endpoint.retry_backoff, endpoint.retry_max_delay)
    api_key = _api_key(endpoint, name, chosen)
    # The SDKs are imported here, not at module level: see the package docstring.
    if endpoint.kind == "anthropic":
        import anthropic

        from sandbox_analyst.llm.anthropic_messages import AnthropicMessagesLLM

        client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=endpoint.base_url, timeout=endpoint.timeout, max_retries=0
        )
        return MeteredLLM(
            AnthropicMessagesLLM(
                client,
                provider=name,
                model=chosen,
                stream_tools=endpoint.stream_tools,
                retry=retry,
            )
        )
    import openai

    from sandbox_analyst.llm.openai_chat import OpenAIChatLLM

    if endpoint.kind == "azure":
        client = _azure_client(endpoint, api_key, name)
    else:
        client = openai.AsyncOpenAI(
            api_key=api_key, base_url=endpoint.base_url, timeout=endpoint.timeout, max_retries=0
        )
    openai_itself = endpoint.kind == "azure" or endpoint.base_url is None
    return MeteredLLM(
        OpenAIChatLLM(
            client,
            provider=name,
            model=chosen,
            stream_tools=endpoint.stream_tools,
            retry=retry,
            max_tokens_param="max_completion_tokens" if openai_itself else "max_tokens",
        )
    )


def resolve_endpoint(llm: LLMSettings, name: str) -> ProviderSettings:
    """The endpoint settings a provider name stands for."""
    if name in llm.providers:
        return llm.providers[name]
    if name == llm.provider:  # a kind, configured by the top-level `llm` settings
        fields = llm.model_dump(exclude={"provider", "providers"})
        return ProviderSettings(kind=name, **fields)
    if name in LLM_KINDS:  # another kind, with its defaults and usual environment variables
        return ProviderSettings(kind=name)
    known = ", ".join(sorted({*LLM_KINDS, *llm.providers}))
    raise ConfigError(f"unknown LLM provider {name!r}; known: {known}")


def _api_key(endpoint: ProviderSettings, name: str, model: str) -> str:
    if endpoint.api_key is not None:
        return endpoint.api_key.get_secret_value()
    variable = API_KEY_VARIABLES[endpoint.kind]
    if os.environ.get(variable):
        return os.environ[variable]
    if endpoint.base_url is not None and endpoint.kind != "azure":
        return UNUSED_API_KEY
    raise LLMAuthError(
        provider=name,
        model=model,
        base_url=endpoint.base_url,
        cause=f"no API key: set {variable} or the provider's api_key in analyst.yaml",
    )


def _azure_client(endpoint: ProviderSettings, api_key: str, name: str) -> openai.AsyncAzureOpenAI:
    azure_endpoint = endpoint.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
    api_version = (
        endpoint.api_version
        or os.environ.get("OPENAI_API_VERSION")
        or os.environ.get("AZURE_OPENAI_API_VERSION")
    )
    if not azure_endpoint:
        raise ConfigError(f"LLM provider {name!r}: set base_url or AZURE_OPENAI_ENDPOINT")
    if not api_version:
        raise ConfigError(f"LLM provider {name!r}: set api_version or OPENAI_API_VERSION")
    import openai

    return openai.AsyncAzureOpenAI(
        api_key=api_key,
        azure_endpoint=azure_endpoint,
        api_version=api_version,
        timeout=endpoint.timeout,
        max_retries=0,
    )
