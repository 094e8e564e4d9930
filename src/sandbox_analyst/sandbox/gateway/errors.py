"""Failures of the gateway backend (the gateway itself, not the code running in a kernel)."""

from __future__ import annotations

from sandbox_analyst.sandbox.errors import SandboxError, SandboxStartError


class GatewayError(SandboxError):
    """The gateway answered with something we cannot use."""

    code = "sandbox_gateway_error"
    http_status = 502


class GatewayAuthError(GatewayError, SandboxStartError):
    """The gateway refused our credentials."""

    code = "sandbox_gateway_auth"
    http_status = 502

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the gateway's HTTP status, 0 if not from a REST answer


class GatewayUnavailableError(GatewayError):
    """The gateway could not be reached (or did not answer in time)."""

    code = "sandbox_gateway_unavailable"
    http_status = 503


class KernelGoneError(GatewayError):
    """The gateway does not know the kernel (it was shut down, culled, or the gateway lost it
    in a restart)."""

    code = "sandbox_kernel_gone"
    http_status = 410
