"""Where a `SandboxManager`'s sandbox lives, from its arguments and the environment.

- `local` (the default): the local pool in this process (a zygote forking isolated
  workers), with the effective settings (`analyst.yaml` < `ANALYST_*`; data directory
  `ANALYST_DATA_DIR`). No server.
- `server`: a running Sandbox Analyst server, through its E2B-compatible API
  (`server.e2b_port`): `server_url=` or `ANALYST_E2B_URL`, and one of the server's API keys,
  `api_key=` or `ANALYST_API_KEY`. The server's own quotas and isolation apply.
- `e2b`: E2B's cloud or a self-hosted E2B: `backend="e2b"`, with `api_key=` or `E2B_API_KEY`
  (and `E2B_DOMAIN` for self-hosted E2B).
- `gateway`: a Jupyter Kernel / Enterprise Gateway, as configured in `sandbox.gateway`.

Arguments win over the environment; without any, `sandbox.backend` of the effective
settings decides (`ANALYST_SANDBOX__BACKEND`). An E2B key in the environment never moves
sandboxes off this machine by itself: that takes `backend="e2b"` or the settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from sandbox_analyst.config import SandboxSettings, Settings, load_settings
from sandbox_analyst.sandbox.errors import BackendUnavailableError, SandboxUsageError

Backend = Literal["local", "server", "e2b", "gateway"]
BACKEND_CHOICES: tuple[str, ...] = ("local", "server", "e2b", "gateway")
SERVER_URL_ENV = "ANALYST_E2B_URL"
SERVER_KEY_ENV = "ANALYST_API_KEY"
E2B_KEY_ENV = "E2B_API_KEY"


@dataclass(frozen=True)
class Location:
    """A resolved place for sandboxes: `backend` as the user chose it, and the effective
    settings whose `sandbox` section builds the provider (`sandbox.backend` is the sandbox
    layer's backend: `server` runs on the `e2b` backend pointed at our server)."""

    backend: Backend
    settings: Settings

    @property
    def sandbox(self) -> SandboxSettings:
        return self.settings.sandbox

    def describe(self) -> str:
        if self.backend == "server":
            return f"the Sandbox Analyst server at {_e2b_field(self.sandbox, 'api_url')}"
        if self.backend == "e2b":
            where = _e2b_field(self.sandbox, "api_url") or _e2b_field(self.sandbox, "domain")
            return f"E2B ({where})" if where else "E2B"
        if self.backend == "gateway":
            return f"the Jupyter gateway at {self.sandbox.gateway.url}"
        return f"the local sandbox pool (data in {self.settings.data_dir})"


def resolve_location(
    *,
    backend: str | None = None,
    server_url: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> Location:
    """The location the arguments and the environment name; `SandboxUsageError` when they
    name none that can work (an unknown backend, a server without a key)."""
    if backend is not None and backend not in BACKEND_CHOICES:
        raise SandboxUsageError(f"unknown backend {backend!r}; use one of {BACKEND_CHOICES}")
    effective = settings if settings is not None else load_settings()
    if backend is None:
        if server_url is not None or os.environ.get(SERVER_URL_ENV):
            backend = "server"
        else:
            backend = effective.sandbox.backend
    if backend == "server":
        url = server_url or os.environ.get(SERVER_URL_ENV)
        key = api_key or os.environ.get(SERVER_KEY_ENV)
        if not url:
            raise SandboxUsageError(
                f"a Sandbox Analyst server needs its E2B API URL: server_url= or {SERVER_URL_ENV} "
                "(the URL `analyst serve` prints for its E2B-compatible API)"
            )
        if not key:
            raise SandboxUsageError(
                f"a Sandbox Analyst server needs one of its API keys: api_key= or {SERVER_KEY_ENV} "
                "(`analyst users create NAME` prints one)"
            )
        if not url.startswith(("http://", "https://")):
            raise SandboxUsageError(f"server_url must start with http:// or https://: {url!r}")
        sandbox = _on_e2b(effective.sandbox, api_key=key, api_url=url.rstrip("/"))
    elif backend == "e2b":
        sandbox = _on_e2b(effective.sandbox, api_key=api_key or os.environ.get(E2B_KEY_ENV))
    else:
        if server_url is not None or api_key is not None:
            raise SandboxUsageError(
                f"server_url= and api_key= are for the server and e2b backends, not {backend!r}"
            )
        sandbox = effective.sandbox.model_copy(update={"backend": backend})
    return Location(backend, effective.model_copy(update={"sandbox": sandbox}))  # type: ignore[arg-type]


def _on_e2b(
    sandbox: SandboxSettings, *, api_key: str | None, api_url: str | None = None
) -> SandboxSettings:
    """`sandbox` switched to the e2b backend; `api_url` points it at our server (whose E2B
    API serves the control plane and every sandbox on one URL)."""
    e2b = getattr(sandbox, "e2b", None)
    if e2b is None:
        raise BackendUnavailableError(
            "the 'e2b' sandbox backend is not part of this installation; the server and e2b "
            "locations need it"
        )
    update: dict[str, object] = {}
    if api_key:
        update["api_key"] = SecretStr(api_key)
    if api_url is not None:  # our server: control plane and sandboxes on the one URL
        update.update(api_url=api_url, sandbox_url=api_url, domain=None)
    return sandbox.model_copy(update={"backend": "e2b", "e2b": e2b.model_copy(update=update)})


def _e2b_field(sandbox: SandboxSettings, name: str) -> object:
    return getattr(getattr(sandbox, "e2b", None), name, None)
