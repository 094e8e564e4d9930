"""The gateway's REST API: kernelspecs, and kernels (start, find, list, interrupt, restart,
shut down). One `httpx.AsyncClient` per provider; every failure becomes a typed error."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import httpx

from sandbox_analyst.config import GatewaySettings
from sandbox_analyst.sandbox.gateway.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayUnavailableError,
    KernelGoneError,
)


class ListingDisabledError(GatewayError):
    """The gateway does not list its kernels (Kernel Gateway's default: list_kernels off)."""


def ssl_context(settings: GatewaySettings) -> ssl.SSLContext | None:
    """TLS settings for https/wss URLs: verification on unless turned off, an own CA bundle."""
    if not (settings.url or "").startswith("https://"):
        return None
    if not settings.validate_cert:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if settings.ca_file is not None:
        return ssl.create_default_context(cafile=str(settings.ca_file))
    return ssl.create_default_context()


def auth_headers(settings: GatewaySettings) -> dict[str, str]:
    if settings.token is None or not settings.token.get_secret_value():
        return {}
    return {"Authorization": f"token {settings.token.get_secret_value()}"}


class GatewayRest:
    def __init__(self, settings: GatewaySettings) -> None:
        if not settings.url:
            raise GatewayError("sandbox.gateway.url is not set (ANALYST_SANDBOX__GATEWAY__URL)")
        self.settings = settings
        self.base_url = settings.url
        context = ssl_context(settings)
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            headers=auth_headers(settings),
            verify=context if context is not None else True,
            timeout=httpx.Timeout(settings.request_timeout, connect=settings.connect_timeout),
        )

    def websocket_url(self, kernel_id: str) -> str:
        base = "ws" + self.base_url.removeprefix("http")
        return f"{base}/api/kernels/{quote(kernel_id, safe='')}/channels"

    async def kernelspecs(self) -> dict[str, Any]:
        return await self._json("GET", "/api/kernelspecs")

    async def start_kernel(self, name: str, env: dict[str, str]) -> dict[str, Any]:
        return await self._json(
            "POST",
            "/api/kernels",
            json={"name": name, "env": env},
            timeout=self.settings.kernel_start_timeout,
        )

    async def kernel(self, kernel_id: str) -> dict[str, Any]:
        return await self._json("GET", self._kernel_path(kernel_id))

    async def kernels(self) -> list[dict[str, Any]]:
        try:
            listed = await self._json("GET", "/api/kernels")
        except GatewayAuthError as exc:
            if exc.status == 403:
                raise ListingDisabledError(
                    "the gateway does not list kernels (Kernel Gateway: "
                    "--KernelGatewayApp.list_kernels=True)"
                ) from exc
            raise
        return listed if isinstance(listed, list) else []

    async def interrupt(self, kernel_id: str) -> None:
        await self._json("POST", self._kernel_path(kernel_id) + "/interrupt")

    async def restart(self, kernel_id: str) -> None:
        await self._json(
            "POST",
            self._kernel_path(kernel_id) + "/restart",
            timeout=self.settings.kernel_start_timeout,
        )

    async def shutdown_kernel(self, kernel_id: str) -> bool:
        """False if the gateway did not know it."""
        try:
            await self._json("DELETE", self._kernel_path(kernel_id))
        except KernelGoneError:
            return False
        return True

    async def close(self) -> None:
        await self._client.aclose()

    @staticmethod
    def _kernel_path(kernel_id: str) -> str:
        return f"/api/kernels/{quote(kernel_id, safe='')}"

    async def _json(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = httpx.Timeout(timeout, connect=self.settings.connect_timeout)
        try:
            response = await self._client.request(method, path, **kwargs, **extra)
        except httpx.TimeoutException as exc:
            raise GatewayUnavailableError(
                f"the gateway at {self.base_url} did not answer {method} {path} in time"
            ) from exc
        except httpx.HTTPError as exc:
            raise GatewayUnavailableError(
                f"cannot reach the gateway at {self.base_url}: {exc}"
            ) from exc
        if response.status_code in (401, 403):
            raise GatewayAuthError(
                f"the gateway refused {method} {path} (HTTP {response.status_code}): check "
                "sandbox.gateway.token (ANALYST_SANDBOX__GATEWAY__TOKEN)",
                status=response.status_code,
            )
        if response.status_code == 404 and path.startswith("/api/kernels/"):
            raise KernelGoneError(f"the gateway does not know kernel {path.split('/')[3]}")
        if response.status_code >= 400:
            raise GatewayError(
                f"the gateway answered {method} {path} with HTTP {response.status_code}: "
                f"{_reason(response)}"
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise GatewayError(f"the gateway answered {method} {path} with no JSON") from exc


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("reason") or body)[:300]
    return str(body)[:300]
