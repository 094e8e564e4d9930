"""The REST half of the Jupyter-server subset: the API version, the one kernel spec, and
kernels (start, list, get, delete, interrupt, restart), each kernel one of the caller's
sandboxes. Errors come back in a Jupyter server's shape, `{"message": ..., "reason": ...}`,
with the status our error classes declare."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sandbox_analyst.api.jupyter.auth import jupyter_principal
from sandbox_analyst.service import KERNEL_NAME, Kernel, Principal, Services, public_error

# The Jupyter server REST API this subset follows (jupyter_server 2.x).
JUPYTER_API_VERSION = "2.14.0"
KERNEL_DISPLAY_NAME = "Python 3 (Sandbox Analyst)"


class JupyterErrorRoute(APIRoute):
    """Our errors answered as a Jupyter server answers its own."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                error = public_error(exc)
                if error is None:
                    raise
                body = {"message": error.message, "reason": error.code}
                return JSONResponse(body, status_code=error.http_status)

        return answer


# Jupyter's protocol, documented by Jupyter (and its errors in Jupyter's shape): not part of
# our OpenAPI document; its access rules are tested in tests/api/jupyter.
router = APIRouter(
    prefix="/jupyter/api",
    tags=["jupyter"],
    route_class=JupyterErrorRoute,
    include_in_schema=False,
)
Caller = Annotated[Principal, Depends(jupyter_principal)]


def _services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


def kernel_model(kernel: Kernel) -> dict[str, Any]:
    return {
        "id": kernel.id,
        "name": KERNEL_NAME,
        "last_activity": kernel.last_activity.isoformat().replace("+00:00", "Z"),
        "execution_state": kernel.execution_state,
        "connections": kernel.connections,
    }


@router.get("")
async def api_version() -> dict[str, str]:
    return {"version": JUPYTER_API_VERSION}


@router.get("/kernelspecs")
async def kernelspecs(_caller: Caller) -> dict[str, Any]:
    spec = {
        "argv": [],
        "display_name": KERNEL_DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "message",
        "env": {},
        "metadata": {"sandbox_analyst": version("sandbox-analyst")},
    }
    return {
        "default": KERNEL_NAME,
        "kernelspecs": {KERNEL_NAME: {"name": KERNEL_NAME, "spec": spec, "resources": {}}},
    }


@router.get("/kernels")
async def list_kernels(caller: Caller, services: ServicesDep) -> list[dict[str, Any]]:
    return [kernel_model(kernel) for kernel in services.kernels.list(caller)]


@router.post("/kernels", status_code=201)
async def start_kernel(
    caller: Caller,
    services: ServicesDep,
    response: Response,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """Start a kernel: a fresh sandbox of the caller's (`{"name": "python3"}` or no body)."""
    name = (body or {}).get("name")
    kernel = await services.kernels.start(caller, name if isinstance(name, str) else None)
    response.headers["Location"] = f"/jupyter/api/kernels/{kernel.id}"
    return kernel_model(kernel)


@router.get("/kernels/{kernel_id}")
async def get_kernel(kernel_id: str, caller: Caller, services: ServicesDep) -> dict[str, Any]:
    return kernel_model(services.kernels.get(caller, kernel_id))


@router.delete("/kernels/{kernel_id}", status_code=204)
async def delete_kernel(kernel_id: str, caller: Caller, services: ServicesDep) -> Response:
    await services.kernels.delete(caller, kernel_id)
    return Response(status_code=204)


@router.post("/kernels/{kernel_id}/interrupt", status_code=204)
async def interrupt_kernel(kernel_id: str, caller: Caller, services: ServicesDep) -> Response:
    await services.kernels.interrupt(caller, kernel_id)
    return Response(status_code=204)


@router.post("/kernels/{kernel_id}/restart")
async def restart_kernel(kernel_id: str, caller: Caller, services: ServicesDep) -> dict[str, Any]:
    return kernel_model(await services.kernels.restart(caller, kernel_id))


def language_info() -> dict[str, Any]:
    return {
        "name": "python",
        "version": ".".join(map(str, sys.version_info[:3])),
        "mimetype": "text/x-python",
        "file_extension": ".py",
        "pygments_lexer": "ipython3",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "nbconvert_exporter": "python",
    }
