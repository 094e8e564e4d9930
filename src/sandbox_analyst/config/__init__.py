"""Effective settings: defaults < `analyst.yaml` < environment (`ANALYST_*`).

Nested settings use a double underscore in the environment, e.g.
`ANALYST_SANDBOX__POOL_SIZE=4`. Provider keys keep their usual names
(`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`).
"""

from sandbox_analyst.config.errors import ConfigError
from sandbox_analyst.config.features import (
    AgentSettings,
    AuditSettings,
    ConnectionSettings,
    McpClientSettings,
    QuotaSettings,
)
from sandbox_analyst.config.front_ends import (
    E2BSettings,
    LibreChatSettings,
    LoggingSettings,
    MetricsSettings,
    OpenAICompatSettings,
    ServerSettings,
)
from sandbox_analyst.config.llm import (
    LLM_KINDS,
    EndpointSettings,
    LLMKind,
    LLMSettings,
    ProviderSettings,
)
from sandbox_analyst.config.sandbox import (
    E2BBackendSettings,
    EgressSettings,
    GatewaySettings,
    SandboxSettings,
)
from sandbox_analyst.config.settings import (
    DEFAULT_CONFIG_FILE,
    Settings,
    default_data_dir,
    load_settings,
)
from sandbox_analyst.config.storage import S3Settings, StorageSettings

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "LLM_KINDS",
    "AgentSettings",
    "AuditSettings",
    "ConfigError",
    "ConnectionSettings",
    "E2BBackendSettings",
    "E2BSettings",
    "EgressSettings",
    "EndpointSettings",
    "GatewaySettings",
    "LLMKind",
    "LLMSettings",
    "LibreChatSettings",
    "LoggingSettings",
    "McpClientSettings",
    "MetricsSettings",
    "OpenAICompatSettings",
    "ProviderSettings",
    "QuotaSettings",
    "S3Settings",
    "SandboxSettings",
    "ServerSettings",
    "Settings",
    "StorageSettings",
    "default_data_dir",
    "load_settings",
]
