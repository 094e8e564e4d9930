"""Settings of the sandboxes: the backend (local pool, Jupyter gateway, E2B), its limits,
isolation and controlled egress."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

_MIB = 1024 * 1024


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
