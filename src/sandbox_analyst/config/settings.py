"""`Settings`: every section together, from defaults < `analyst.yaml` < environment."""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

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
from sandbox_analyst.config.llm import LLMSettings
from sandbox_analyst.config.sandbox import SandboxSettings
from sandbox_analyst.config.storage import StorageSettings

DEFAULT_CONFIG_FILE = "analyst.yaml"
# Which YAML file the next `Settings()` reads; set by `load_settings(config_file=...)`.
_config_file: ContextVar[Path | None] = ContextVar("analyst_config_file", default=None)


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "sandbox-analyst"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ANALYST_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite in the data directory."
    )
    log_level: str = "INFO"
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    openai_compat: OpenAICompatSettings = Field(default_factory=OpenAICompatSettings)
    e2b: E2BSettings = Field(default_factory=E2BSettings)
    librechat: LibreChatSettings = Field(default_factory=LibreChatSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    connections: ConnectionSettings = Field(default_factory=ConnectionSettings)
    mcp_client: McpClientSettings = Field(default_factory=McpClientSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _egress_never_reaches_the_service(self) -> Settings:
        own = [self.server.port, self.server.e2b_port]
        ports = self.sandbox.egress.service_ports
        ports.extend(port for port in own if port and port not in ports)
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'analyst.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _LLMBaseUrlEnv(settings_cls),
            _YamlSource(settings_cls),
        )

    def masked(self) -> dict[str, Any]:
        """The settings as plain data with every secret replaced by `***`."""
        return self.model_dump(mode="json")


class _YamlSource(PydanticBaseSettingsSource):
    """Reads `analyst.yaml` from the current directory, or the file given to `load_settings`."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = _config_file.get() or Path(DEFAULT_CONFIG_FILE)
        self._data: dict[str, Any] = {}
        if path.is_file():
            import yaml  # only when there is a file: every command's start-up pays for it

            loaded = yaml.safe_load(path.read_text()) or {}
            if not isinstance(loaded, dict):
                raise ConfigError(f"{path}: expected a mapping at the top level")
            self._data = loaded

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class _LLMBaseUrlEnv(PydanticBaseSettingsSource):
    """`ANALYST_LLM_BASE_URL`, the documented spelling, sets `llm.base_url` (below the nested
    `ANALYST_LLM__BASE_URL`, above the YAML file)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        url = os.environ.get("ANALYST_LLM_BASE_URL")
        return {"llm": {"base_url": url}} if url else {}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and the YAML file, with explicit overrides on top."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"configuration file not found: {config_file}")
    token = _config_file.set(config_file)
    try:
        return Settings(**overrides)
    finally:
        _config_file.reset(token)
