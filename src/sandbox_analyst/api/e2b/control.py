"""E2B's control plane (`E2B_API_URL`): create, list, inspect, extend and kill sandboxes.

Every call acts for the user of the API key; a sandbox of someone else's is answered exactly
like one that does not exist.
"""

from __future__ import annotations

import os
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox_analyst.api.e2b.deps import CurrentPrincipal, ServicesDep
from sandbox_analyst.api.e2b.errors import e2b_error
from sandbox_analyst.service.e2b import MetricSample, SandboxLimits, SandboxView

router = APIRouter()

# What the SDKs compare against to pick wire features: 0.5.7 brings octet-stream uploads.
ENVD_VERSION = "0.5.7"
CLIENT_ID = "sandbox-analyst"
_PAGE = 100


class NewSandbox(BaseModel):
    """`POST /sandboxes` and `/v2/sandboxes`. Options this server has no use for (auto-pause,
    network rules, MCP...) are accepted and ignored, as an older E2B would."""

    model_config = ConfigDict(extra="ignore")

    templateID: str = Field(min_length=1, max_length=128)
    timeout: int | None = None
    metadata: dict[str, str] | None = None
    envVars: dict[str, str] | None = None


class TimeoutRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout: int


class ConnectRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeout: int | None = None


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    duration: int | None = None


def _created(view: SandboxView) -> dict[str, Any]:
    return {
        "templateID": view.template_id,
        "sandboxID": view.sandbox_id,
        "clientID": CLIENT_ID,
        "envdVersion": ENVD_VERSION,
        "envdAccessToken": view.access_token,
        # The code interpreter's context calls carry only this one: the same secret.
        "trafficAccessToken": view.access_token,
    }


def _listed(view: SandboxView, request: Request) -> dict[str, Any]:
    sandbox = request.app.state.settings.sandbox
    return {
        "templateID": view.template_id,
        "sandboxID": view.sandbox_id,
        "clientID": CLIENT_ID,
        "startedAt": _time(view.started_at),
        "endAt": _time(view.end_at),
        "cpuCount": os.cpu_count() or 1,
        "memoryMB": sandbox.memory_limit_mb,
        "diskSizeMB": sandbox.disk_quota_mb,
        "metadata": view.metadata,
        "state": "running",
        "envdVersion": ENVD_VERSION,
    }


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@router.post("/sandboxes", status_code=201)
@router.post("/v2/sandboxes", status_code=201)
async def create_sandbox(
    body: NewSandbox, principal: CurrentPrincipal, services: ServicesDep
) -> dict[str, Any]:
    view = await services.e2b.create(
        principal,
        template_id=body.templateID,
        timeout=body.timeout,
        metadata=body.metadata,
        env_vars=body.envVars,
    )
    return _created(view)


@router.get("/sandboxes")
async def list_sandboxes_v1(
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    metadata: str | None = None,
) -> list[dict[str, Any]]:
    views = await services.e2b.list(principal, metadata=_metadata_query(metadata))
    return [_listed(view, request) for view in views]


@router.get("/v2/sandboxes")
async def list_sandboxes(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    services: ServicesDep,
    metadata: str | None = None,
    state: str | None = None,
    limit: int = Query(_PAGE, ge=1, le=1000),
    next_token: str | None = Query(None, alias="nextToken"),
) -> list[dict[str, Any]]:
    if state and "running" not in state.split(","):
        return []  # nothing here is ever paused
    views = await services.e2b.list(principal, metadata=_metadata_query(metadata))
    start = int(next_token) if next_token and next_token.isdigit() else 0
    page = views[start : start + limit]
    if start + limit < len(views):
        response.headers["x-next-token"] = str(start + limit)
    return [_listed(view, request) for view in page]


@router.get("/sandboxes/{sandbox_id}")
async def get_sandbox(
    sandbox_id: str, request: Request, principal: CurrentPrincipal, services: ServicesDep
) -> dict[str, Any]:
    view = await services.e2b.get(principal, sandbox_id)
    return {**_listed(view, request), "envdAccessToken": view.access_token}


@router.delete("/sandboxes/{sandbox_id}", status_code=204)
async def kill_sandbox(
    sandbox_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.e2b.kill(principal, sandbox_id)
    return Response(status_code=204)


@router.get("/sandboxes/{sandbox_id}/metrics")
async def sandbox_metrics(
    sandbox_id: str,
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    start: int | None = Query(None, ge=0, description="Unix seconds: samples from then on."),
    end: int | None = Query(None, ge=0, description="Unix seconds: samples until then."),
) -> list[dict[str, Any]]:
    sandbox = request.app.state.settings.sandbox
    limits = SandboxLimits(
        memory_bytes=sandbox.memory_limit_mb * 2**20, disk_bytes=sandbox.disk_quota_mb * 2**20
    )
    samples = await services.e2b.metrics(
        principal, sandbox_id, limits, start=_from_unix(start), end=_from_unix(end)
    )
    return [_metric(sample) for sample in samples]


def _from_unix(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _metric(sample: MetricSample) -> dict[str, Any]:
    return {
        "timestamp": _time(sample.timestamp),
        "timestampUnix": int(sample.timestamp.timestamp()),
        "cpuCount": sample.cpu_count,
        "cpuUsedPct": sample.cpu_used_pct,
        "memUsed": sample.mem_used,
        "memTotal": sample.mem_total,
        "memCache": 0,  # a session has no page cache of its own to report
        "diskUsed": sample.disk_used,
        "diskTotal": sample.disk_total,
    }


@router.post("/sandboxes/{sandbox_id}/timeout", status_code=204)
async def set_timeout(
    sandbox_id: str, body: TimeoutRequest, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.e2b.set_timeout(principal, sandbox_id, body.timeout)
    return Response(status_code=204)


@router.post("/sandboxes/{sandbox_id}/refreshes", status_code=204)
async def refresh(
    sandbox_id: str, body: RefreshRequest, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    await services.e2b.connect(principal, sandbox_id, body.duration)
    return Response(status_code=204)


@router.post("/sandboxes/{sandbox_id}/connect")
@router.post("/v2/sandboxes/{sandbox_id}/connect")
async def connect_sandbox(
    sandbox_id: str, body: ConnectRequest, principal: CurrentPrincipal, services: ServicesDep
) -> dict[str, Any]:
    view = await services.e2b.connect(principal, sandbox_id, body.timeout)
    return _created(view)


@router.post("/sandboxes/{sandbox_id}/pause")
@router.post("/sandboxes/{sandbox_id}/resume")
@router.post("/sandboxes/{sandbox_id}/fork")
@router.post("/sandboxes/{sandbox_id}/snapshots")
async def unsupported(sandbox_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    action = request.url.path.rsplit("/", 1)[-1]
    return e2b_error(501, f"this server does not {action} sandboxes: they run until they end")


def _metadata_query(value: str | None) -> dict[str, str] | None:
    """`metadata=k1%3Dv1%26k2%3Dv2` (keys and values quoted once more by the SDKs)."""
    if not value:
        return None
    pairs = urllib.parse.parse_qsl(value, keep_blank_values=True)
    return {urllib.parse.unquote(k): urllib.parse.unquote(v) for k, v in pairs}
