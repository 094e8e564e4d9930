"""Settings of the model: the default endpoint and named providers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

LLMKind = Literal["openai", "azure", "anthropic"]
LLM_KINDS: tuple[str, ...] = ("openai", "azure", "anthropic")


class EndpointSettings(BaseModel):
    """How to reach one LLM endpoint (shared by the default endpoint and named providers)."""

    base_url: str | None = Field(
        None, description="Server URL (OpenAI-compatible servers: '.../v1'; azure: the endpoint)."
    )
    api_key: SecretStr | None = Field(
        None, description="Default: OPENAI_API_KEY, AZURE_OPENAI_API_KEY or ANTHROPIC_API_KEY."
    )
    api_version: str | None = Field(None, description="Azure only; default: OPENAI_API_VERSION.")
    stream_tools: bool = Field(
        True, description="Stream calls that offer tools; off for servers that stream them badly."
    )
    timeout: float = Field(120.0, gt=0, description="Seconds a connect or a read may wait.")
    max_retries: int = Field(3, ge=0, le=10)
    retry_backoff: float = Field(
        0.5, ge=0, description="Seconds before the first retry; doubled each retry, jittered."
    )
    retry_max_delay: float = Field(30.0, ge=0, description="Longest wait between two attempts.")


class ProviderSettings(EndpointSettings):
    """A named endpoint under `llm.providers`, e.g. `ollama: {kind: openai, base_url: ...}`."""

    kind: LLMKind = "openai"
    model: str | None = Field(None, description="Model used when an assistant names none.")


class LLMSettings(EndpointSettings):
    provider: str = Field(
        "openai", description="A kind (openai, azure, anthropic) or a name from `providers`."
    )
    model: str = "gpt-4o-mini"
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_provider(self) -> LLMSettings:
        if self.provider not in LLM_KINDS and self.provider not in self.providers:
            known = ", ".join([*LLM_KINDS, *self.providers])
            raise ValueError(f"llm.provider {self.provider!r} is neither a kind nor in {known}")
        return self
