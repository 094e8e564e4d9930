"""Settings of the front ends: the HTTP server, metrics and logs, the OpenAI-compatible, E2B and
LibreChat APIs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork


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
