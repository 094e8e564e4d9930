"""Effective settings: defaults < `analyst.yaml` < environment (`ANALYST_*`).

Nested settings use a double underscore in the environment, e.g.
`ANALYST_SANDBOX__POOL_SIZE=4`. Provider keys keep their usual names
(`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`).
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG_FILE = "analyst.yaml"
# Which YAML file the next `Settings()` reads; set by `load_settings(config_file=...)`.
_config_file: ContextVar[Path | None] = ContextVar("analyst_config_file", default=None)
_MIB = 1024 * 1024


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "sandbox-analyst"


class EgressSettings(BaseModel):
    """Controlled egress: what sandboxes may reach, through the egress proxy (local backend).
    Templates and assistants may narrow it, never widen it. See docs/egress.md."""

    allow: list[str] = Field(
        default_factory=list,
        description="host:port entries sandboxes may reach (exact names, *.domain, IP "
        "addresses, [IPv6]:port; host:port/path/prefix limits plain HTTP to those paths). "
        "Empty (the default): no network at all. Non-public addresses only when listed by "
        "address; cloud metadata and the service's own ports never.",
    )
    max_connections_per_minute: int = Field(120, ge=1, description="Per session.")
    max_concurrent_connections: int = Field(32, ge=1, description="Per session.")
    max_bytes_per_session: int = Field(
        1024 * _MIB, ge=1, description="Bytes sent plus received through the proxy, per session."
    )
    service_ports: list[int] = Field(
        default_factory=list,
        description="Ports of this machine never reachable (the service's own: server.port "
        "and server.e2b_port are added to these).",
    )


class GatewaySettings(BaseModel):
    """The `gateway` backend: kernels on a Jupyter Kernel Gateway or Enterprise Gateway."""

    url: str | None = Field(
        None, description="Base URL of the gateway, e.g. http://127.0.0.1:8888 (https for TLS)."
    )
    token: SecretStr | None = Field(
        None, description="The gateway's auth token (sent as `Authorization: token ...`)."
    )
    kernel_name: str = Field("python3", min_length=1, description="Kernelspec of new kernels.")
    templates: dict[str, str] = Field(
        default_factory=dict,
        description="Template name -> kernelspec name, for sessions that ask for a template.",
    )
    username: str = Field(
        "analyst", min_length=1, description="KERNEL_USERNAME sent when starting a kernel."
    )
    kernel_env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra KERNEL_* variables for the start request (Enterprise Gateway reads "
        "e.g. KERNEL_NAMESPACE, KERNEL_IMAGE from here).",
    )
    session_dir: str = Field(
        "sessions",
        description="Directory, relative to where the kernel starts, holding one working "
        "directory per session; empty: the kernel's own working directory (one container per "
        "kernel).",
    )
    pool_size: int = Field(
        0, ge=0, le=64, description="Kernels started ahead of time and kept waiting."
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a connection.")
    request_timeout: float = Field(30.0, gt=0, description="Seconds a REST request may take.")
    kernel_start_timeout: float = Field(
        120.0, gt=0, description="Seconds a new kernel may take to become ready."
    )
    reconnect_timeout: float = Field(
        30.0, gt=0, description="Seconds to keep re-opening a dropped kernel websocket."
    )
    validate_cert: bool = Field(True, description="Verify the gateway's TLS certificate.")
    ca_file: Path | None = Field(None, description="CA bundle to verify the gateway with.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("sandbox.gateway.url must start with http:// or https://")
        return value


class E2BBackendSettings(BaseModel):
    """The `e2b` backend: sessions are sandboxes of E2B (its cloud, a self-hosted E2B, or any
    E2B-compatible server such as this project's own), driven by E2B's official SDK."""

    api_key: SecretStr | None = Field(
        None, description="E2B API key; default: the E2B_API_KEY environment variable."
    )
    domain: str | None = Field(
        None,
        description="E2B domain (self-hosted E2B: its domain); the SDK then calls "
        "https://api.<domain> and https://<port>-<sandbox id>.<domain>. Default: E2B_DOMAIN, "
        "else e2b.app (E2B's cloud).",
    )
    api_url: str | None = Field(
        None, description="Control-plane URL, instead of https://api.<domain>."
    )
    sandbox_url: str | None = Field(
        None,
        description="One URL for every sandbox's envd and code interpreter (a server that "
        "routes by the E2b-Sandbox-Id header, as this project's E2B API does), instead of "
        "per-sandbox host names under the domain.",
    )
    template: str = Field(
        "code-interpreter-v1",
        min_length=1,
        description="E2B template of sessions that ask for no template (or for 'default').",
    )
    templates: dict[str, str] = Field(
        default_factory=dict,
        description="Template name (an assistant's `template`) -> E2B template id; a name not "
        "listed is passed to E2B as it is.",
    )
    timeout: int = Field(
        3600,
        ge=1,
        description="Seconds an E2B sandbox lives without activity; each use extends it "
        "(E2B's own limit is 1 h on Hobby, 24 h on Pro).",
    )
    request_timeout: float = Field(
        60.0, gt=0, description="Seconds one request to E2B may take (not the code's run)."
    )

    @field_validator("api_url", "sandbox_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("sandbox.e2b URLs must start with http:// or https://")
        return value


class SandboxSettings(BaseModel):
    """The execution engine: which backend, the session limits every backend shares, and the
    local backend's own settings (zygote + pre-forked pool; other backends add sub-settings)."""

    backend: Literal["local", "gateway", "e2b"] = Field(
        "local",
        description="Where sessions run: local (zygote-forked workers on this machine), "
        "gateway (Jupyter Kernel / Enterprise Gateway) or e2b.",
    )
    pool_size: int = Field(2, ge=0, le=64, description="Ready workers kept waiting.")
    preload: list[str] = Field(
        default_factory=lambda: [
            "numpy",
            "pandas",
            "matplotlib.pyplot",
            "scipy",
            "scipy.stats",
            "sklearn",
            "sklearn.linear_model",
            "sklearn.ensemble",
            "sklearn.model_selection",
            # Measured (CPU s on top of the above, which take ~7.5): seaborn 0.31, plotly.io
            # 0.01. Left to first use: statsmodels.api 2.3, plotly.express 0.27, polars 0.6.
            "seaborn",
            "plotly.io",
        ],
        description="Modules the zygote imports once (the default template's preload list); "
        "missing ones are skipped.",
    )
    threads: int = Field(1, ge=1, le=256, description="OPENBLAS/OMP/MKL threads per worker.")
    timeout: float = Field(120.0, gt=0, description="Default seconds a cell may run.")
    interrupt_grace: float = Field(
        3.0, gt=0, description="Seconds between an interrupt and a kill when code ignores it."
    )
    max_sessions: int = Field(32, ge=1, description="Live sessions at most.")
    max_sessions_per_user: int = Field(
        8,
        ge=1,
        description="Live sessions one user may hold; their least recently used idle one is "
        "ended when they need another.",
    )
    idle_timeout: float = Field(1800.0, gt=0, description="Seconds before an idle session ends.")
    reclaim_idle_after: float = Field(
        60.0,
        ge=0,
        description="When every session is taken, one idle at least this many seconds is "
        "ended to make room (the least recently used), instead of refusing.",
    )
    output_limit: int = Field(
        2 * _MIB, ge=4096, description="Bytes of stdout+stderr kept per execution."
    )
    memory_limit_mb: int = Field(
        2048, ge=512, description="Address-space limit per worker (RLIMIT_AS), in MiB."
    )
    disk_quota_mb: int = Field(1024, ge=1, description="Largest file and workdir size, in MiB.")
    disk_check_interval: float = Field(
        1.0, gt=0, description="Seconds between measurements of the workdir while code runs."
    )
    max_processes: int = Field(64, ge=1, description="Processes/threads a session may hold.")
    figure_dpi: int = Field(100, ge=20, le=600)
    isolation: bool = Field(
        True, description="Confine workers (namespaces, Landlock, seccomp, rlimits, cgroups)."
    )
    min_isolation: Literal["none", "basic", "strict"] = Field(
        "none", description="Refuse to start when the isolation level in force is below this."
    )
    templates_dir: Path | None = Field(
        None, description="Template files (*.yaml, *.toml); default: <data_dir>/templates."
    )
    package_index: str | None = Field(
        "https://pypi.org/simple",
        description="Simple (PEP 503) index that template builds and approved installs take "
        "wheels from (the server downloads), and `%pip install` in a sandbox whose egress "
        "lists it; null: none, only find_links.",
    )
    extra_index_urls: list[str] = Field(default_factory=list)
    find_links: list[str] = Field(
        default_factory=list, description="Directories or pages of links to wheels."
    )
    template_idle_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds a template's zygote and pool (other than the default's) stay up "
        "without a session before they are ended; the next session starts them again.",
    )
    allowed_packages: list[str] = Field(
        default_factory=list,
        description="Packages every assistant that allows installs may install (e.g. faker, "
        "'regex>=2024', or * for anything on the index); others wait for an admin's approval "
        "(analyst packages pending).",
    )
    max_package_mb: int = Field(
        200, ge=1, description="Largest wheel an approved install fetches, in MiB (unpacked)."
    )
    max_session_packages_mb: int = Field(
        1024, ge=1, description="What approved installs may add to one session, in MiB."
    )
    egress: EgressSettings = Field(default_factory=EgressSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    e2b: E2BBackendSettings = Field(default_factory=E2BBackendSettings)


class AgentSettings(BaseModel):
    """Defaults for every assistant's agent loop (an assistant may override some)."""

    max_iterations: int = Field(10, ge=1, le=100, description="Model calls per turn.")
    turn_timeout: float = Field(600.0, gt=0, description="Wall-clock seconds per turn.")
    observation_limit: int = Field(
        6000, ge=500, description="Characters of output sent back to the model per tool call."
    )
    # What the code of one call (and one conversation) may have saved as charts and files;
    # beyond it the model is told what was left out and why.
    max_artifact_bytes: int = Field(50 * _MIB, ge=1, description="Largest chart or file saved.")
    max_artifacts_per_call: int = Field(20, ge=0, description="Files saved per code run.")
    max_figures_per_call: int = Field(50, ge=0, description="Charts saved per code run.")
    max_call_artifact_bytes: int = Field(
        200 * _MIB, ge=1, description="Bytes of charts and files saved per code run, in all."
    )
    max_conversation_artifacts: int = Field(
        2000, ge=0, description="Charts and files saved per conversation."
    )
    max_conversation_artifact_bytes: int = Field(
        2048 * _MIB, ge=1, description="Bytes of charts and files saved per conversation."
    )


class ConnectionSettings(BaseModel):
    """Database connections the agent queries (`analyst connections`, docs/connections.md)."""

    key: SecretStr | None = Field(
        None,
        description="Fernet key that encrypts the connections' URLs at rest; default: one "
        "generated into <data_dir>/connections.key (mode 0600). Losing it loses the URLs.",
    )
    row_limit: int = Field(
        1000, ge=1, le=1_000_000, description="Rows a query returns at most (the rest counted)."
    )
    count_limit: int = Field(
        1_000_000, ge=1, description="Rows past the limit that are counted for the total."
    )
    statement_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds a query (and its fetch) may take."
    )
    connect_timeout: float = Field(10.0, gt=0, le=300, description="Seconds to connect.")
    duckdb_memory_mb: int = Field(
        1024,
        ge=16,
        description="Memory one DuckDB query may use: DuckDB runs inside the server's process, "
        "and never spills to disk here.",
    )
    duckdb_threads: int = Field(
        2, ge=1, le=256, description="Threads one DuckDB query may use (in the server's process)."
    )


class McpClientSettings(BaseModel):
    """The MCP servers whose tools the agent calls (`analyst mcp-servers`, docs/mcp-tools.md)."""

    connect_timeout_s: float = Field(
        15.0, gt=0, le=300, description="Seconds to start (or reach) a server and list its tools."
    )
    call_timeout_s: float = Field(
        60.0, gt=0, le=3600, description="Seconds one tool call may take."
    )
    max_result_chars: int = Field(
        20_000, ge=100, description="Characters of a result's text the model is shown."
    )
    max_image_bytes: int = Field(
        10 * _MIB, ge=1, description="Bytes of one image a tool returns (larger ones refused)."
    )
    tool_list_ttl_s: float = Field(
        300.0,
        ge=0,
        description="Seconds a server's list of tools is kept before it is asked again.",
    )


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    public_url: str | None = Field(
        None, description="Absolute base URL used in links handed to other front ends."
    )
    single_user: bool = Field(
        False, description="No authentication; allowed only on a loopback address."
    )
    max_upload_mb: int = Field(200, ge=1)
    e2b_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Also serve the E2B-compatible API (control plane, envd, code interpreter) "
        "on this port, with E2B's paths at the root; unset: not served.",
    )
    max_json_kb: int = Field(
        1024, ge=1, description="Largest JSON request body, in KiB (413 beyond it)."
    )
    header_timeout_s: float = Field(
        15.0,
        gt=0,
        description="Seconds a client has to send a request's headers before the connection "
        "is closed (slow clients holding connections open).",
    )
    replica_url: str | None = Field(
        None,
        description="This process's own base URL when several replicas share the database. "
        "With the local sandbox backend a conversation is pinned to the replica holding its "
        "sandbox; a request for it reaching another replica is refused (421) naming this URL.",
    )
    heartbeat_s: float = Field(
        10.0,
        gt=0,
        description="Seconds between a server process's heartbeats in the database. A process "
        "on another machine silent for 6 of them is taken for dead, and the turns it was "
        "running are marked interrupted (on the same machine, a process is checked directly).",
    )


class MetricsSettings(BaseModel):
    """`GET /metrics` (Prometheus text format)."""

    enabled: bool = Field(True, description="Serve /metrics; false: 404.")
    public: bool = Field(
        False, description="Anyone may scrape /metrics; false: an admin API key is needed."
    )
    allow_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Client networks (e.g. 10.0.0.0/8) that may scrape /metrics without a key; "
        "the address is the connection's peer (a proxy in front must be trusted).",
    )


class LoggingSettings(BaseModel):
    """What the server's log lines look like."""

    format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per record; json: one JSON object per line "
        "(time, level, logger, message, request_id, turn_id...), for a log collector.",
    )


class OpenAICompatSettings(BaseModel):
    """The OpenAI-compatible `/v1` API that chat front ends (LibreChat, Open WebUI) call."""

    tool_style: Literal["markdown", "details", "think"] = Field(
        "details",
        description="How code steps appear in the answer: plain markdown, a collapsed "
        "<details> block, or a <think> block (shown as reasoning).",
    )
    plain_model: str = Field(
        "analyst-plain",
        min_length=1,
        description="Model id that passes messages straight to the LLM (no tools, no sandbox, "
        "nothing stored): for a front end's title and tag requests.",
    )
    output_chars: int = Field(
        1500, ge=200, description="Characters of a code step's output shown (head and tail)."
    )
    link_days: int = Field(
        30, ge=1, le=30, description="Days the image and file links in answers keep working."
    )
    max_request_mb: int = Field(
        64,
        ge=1,
        description="Largest /v1 request body, in MiB: messages carry their files inline, "
        "base64-encoded (413 beyond it).",
    )
    task_requests: bool = Field(
        True,
        description="Answer a front end's side requests sent to an assistant (Open WebUI's "
        "`### Task:` prompts for titles, tags, follow-ups, search queries, autocompletion: "
        "non-streaming, without tools) with the assistant's model alone, as the plain model "
        "would: no turn, no sandbox, nothing stored.",
    )
    busy_wait_s: float = Field(
        120,
        ge=0,
        description="Seconds a request waits for the turn already running in its conversation "
        "to end before it is refused (409).",
    )


class E2BSettings(BaseModel):
    """Sandboxes made through the E2B-compatible API (`server.e2b_port`)."""

    default_timeout: int = Field(
        300, ge=1, description="Seconds a new sandbox lives when the client asks for no timeout."
    )
    max_timeout: int = Field(
        86400, ge=1, description="Longest lifetime, in seconds, a client may ask for or extend to."
    )


class LibreChatSettings(BaseModel):
    """LibreChat's Code Interpreter API under `/librechat/v1` (`LIBRECHAT_CODE_BASEURL`)."""

    default_profile: Literal["default", "stateful"] = Field(
        "default",
        description="Execution profile when a request names none (header "
        "`X-CodeAPI-Expected-Profile`): `default` runs each call in a fresh interpreter on the "
        "session's files; `stateful` keeps Python variables per session.",
    )
    stateful_keep_s: int = Field(
        1800,
        ge=0,
        description="Seconds a `stateful` session's interpreter (its variables) is kept after "
        "its last call; 0 turns the stateful profile off (such requests are refused as a "
        "capability mismatch). Never longer than `sandbox.idle_timeout`.",
    )
    jwt_public_key: str | None = Field(
        None,
        description="PEM public key (or a path to one) that verifies LibreChat's Code API "
        "JWTs (`Authorization: Bearer`, EdDSA / RS256 / ES256); unset: only `X-API-Key`.",
    )
    jwt_user: str | None = Field(
        None,
        description="Name of the user of this server that callers with a valid JWT act as "
        "(their sessions are kept apart by the JWT's `sub`); required with `jwt_public_key`.",
    )
    jwt_issuer: str = Field("librechat", description="The `iss` a JWT must carry.")
    jwt_audience: str = Field("codeapi", description="The `aud` a JWT must carry.")
    max_output_files: int = Field(
        50, ge=0, description="Files one execution may return; more are left unreturned."
    )
    file_retention_hours: int = Field(
        168,
        ge=0,
        description="Hours an uploaded or returned file is kept (LibreChat uploads a file "
        "again once it is 23 hours old, and offers code outputs for 24 hours); 0: until "
        "deleted.",
    )


class S3Settings(BaseModel):
    """S3-compatible object storage for `storage.blobs: s3` (AWS S3, MinIO, Ceph, R2...)."""

    bucket: str | None = Field(None, description="Bucket holding the blobs (must exist).")
    prefix: str = Field(
        "", description="Key prefix inside the bucket, e.g. `analyst/` to share a bucket."
    )
    endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible server; unset: AWS S3 for the region."
    )
    region: str | None = Field(None, description="Region; unset: the AWS client's own chain.")
    access_key_id: str | None = Field(
        None,
        description="Access key; unset: the AWS client's own chain (AWS_ACCESS_KEY_ID, "
        "AWS_PROFILE, ~/.aws, an instance or container role).",
    )
    secret_access_key: SecretStr | None = Field(None, description="Secret of the access key.")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto",
        description="Bucket in the path (MinIO and most self-hosted servers) or in the host "
        "name (AWS); auto: the client decides.",
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(60.0, gt=0, description="Seconds a response may stall.")
    max_connections: int = Field(
        10, ge=1, le=256, description="Concurrent requests to the endpoint at most."
    )

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("storage.s3.endpoint_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _whole_key(self) -> S3Settings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "storage.s3.access_key_id and storage.s3.secret_access_key go together: set "
                "both, or neither (the AWS client then finds credentials itself)"
            )
        return self


class StorageSettings(BaseModel):
    """Where the bytes of uploads and artifacts are kept (their records are in the database).
    Several servers sharing one database must share these too: use `s3` for that."""

    blobs: Literal["local", "s3"] = Field(
        "local",
        description="local: files under <data_dir>/blobs; s3: an S3-compatible bucket "
        "(install the `s3` extra).",
    )
    s3: S3Settings = Field(default_factory=S3Settings)

    @model_validator(mode="after")
    def _s3_has_a_bucket(self) -> StorageSettings:
        if self.blobs == "s3" and not self.s3.bucket:
            raise ValueError(
                "storage.blobs is s3 but storage.s3.bucket is not set (ANALYST_STORAGE__S3__BUCKET)"
            )
        return self


class QuotaSettings(BaseModel):
    """Every user's default quotas (None: no limit); an admin gives a user their own with
    `analyst users quota`. Daily quotas count from 00:00 UTC. The default for live sandbox
    sessions is `sandbox.max_sessions_per_user`."""

    turns_per_day: int | None = Field(None, ge=0, description="Chat turns a user may start.")
    tokens_per_day: int | None = Field(
        None, ge=0, description="Tokens (read and written) a user's turns may use."
    )
    cpu_seconds_per_day: float | None = Field(
        None,
        ge=0,
        description="Seconds a user's code may run (wall-clock seconds of each run, as the "
        "execution log records them).",
    )
    storage_bytes: int | None = Field(
        None, ge=0, description="Bytes of uploads and artifacts a user may keep."
    )


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


class ConfigError(ValueError):
    """The configuration file or environment holds something unusable. Met while serving a
    request, the server is misconfigured: answered 503."""

    code = "config"
    http_status = 503


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and the YAML file, with explicit overrides on top."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"configuration file not found: {config_file}")
    token = _config_file.set(config_file)
    try:
        return Settings(**overrides)
    finally:
        _config_file.reset(token)
