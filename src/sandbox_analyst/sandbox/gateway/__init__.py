"""The `gateway` backend: sessions on kernels of a Jupyter Kernel Gateway or Enterprise Gateway
(REST `/api/kernels` + the kernel websocket carrying Jupyter messages v5).

Needs the `gateway` extra (`pip install sandbox-analyst[gateway]`).
"""

from sandbox_analyst.sandbox.gateway.errors import (
    GatewayAuthError,
    GatewayError,
    GatewayUnavailableError,
    KernelGoneError,
)
from sandbox_analyst.sandbox.gateway.provider import GatewayProvider
from sandbox_analyst.sandbox.gateway.sandbox import GatewaySandbox

__all__ = [
    "GatewayAuthError",
    "GatewayError",
    "GatewayProvider",
    "GatewaySandbox",
    "GatewayUnavailableError",
    "KernelGoneError",
]
