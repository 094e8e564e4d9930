"""E2B's wire (control plane, envd, code interpreter), translated onto the service's E2B
sandboxes (`service.e2b`) and the `Sandbox` interface, for E2B's official SDKs."""

from sandbox_analyst.api.e2b.app import PortDispatch, create_e2b_app

__all__ = ["PortDispatch", "create_e2b_app"]
