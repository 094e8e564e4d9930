"""Settings of what the service does in a turn and for its users: the agent's limits, database
connections, MCP servers it calls, quotas, how long its logs of what sessions did are kept."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

_MIB = 1024 * 1024


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


class AuditSettings(BaseModel):
    """The logs of what sessions did: egress connections (`analyst egress log`), sandbox time
    (the usage report's sandbox minutes), database queries and MCP tool calls."""

    retention_days: int = Field(
        0,
        ge=0,
        description="Days a record of those logs is kept; every server deletes older ones at "
        "start and hourly (`analyst audit prune` does it once). 0: kept until pruned by hand.",
    )
