"""`create_provider`: the backend that `sandbox.backend` names, imported only when chosen (a
backend's dependencies, e.g. the E2B SDK, are needed only by those who use it).

A backend is one line in `BACKENDS`: its name and `module:callable` (`callable` may be a
classmethod, `Class.method`), called as
`callable(settings, root, hidden_paths=...)` to build its `SandboxProvider`; a backend that
runs templates built on this machine also takes `templates=` (a `TemplateCatalog`), and one
that runs the egress proxy `egress_sink=` (where its connections are recorded).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox_analyst.sandbox.errors import BackendUnavailableError
from sandbox_analyst.sandbox.provider import SandboxProvider

if TYPE_CHECKING:
    from sandbox_analyst.config import SandboxSettings, Settings
    from sandbox_analyst.sandbox.egress import EgressSink
    from sandbox_analyst.sandbox.templates import TemplateCatalog

BACKENDS: dict[str, str] = {
    "local": "sandbox_analyst.sandbox.local.provider:LocalProvider",
    "gateway": "sandbox_analyst.sandbox.gateway.provider:GatewayProvider.from_settings",
    "e2b": "sandbox_analyst.sandbox.e2b.provider:E2BProvider.from_settings",
}


def create_provider(
    settings: SandboxSettings,
    root: Path,
    *,
    hidden_paths: Sequence[str] = (),
    templates: TemplateCatalog | None = None,
    egress_sink: EgressSink | None = None,
) -> SandboxProvider:
    """The configured backend's provider, not started yet. `root` is a directory the backend
    may keep its local state in (the local backend's session workdirs); `hidden_paths` must
    stay unreadable from inside sessions that run on this machine; `egress_sink` receives a
    record of every egress connection, for backends that run the egress proxy.

    Raises `BackendUnavailableError` naming the backend when it is unknown or not installed.
    """
    factory = backend_factory(settings.backend)
    accepts = inspect.signature(factory).parameters
    extra: dict[str, object] = {}
    if templates is not None and "templates" in accepts:
        extra["templates"] = templates
    if egress_sink is not None and "egress_sink" in accepts:
        extra["egress_sink"] = egress_sink
    provider: SandboxProvider = factory(settings, root, hidden_paths=tuple(hidden_paths), **extra)
    return provider


def provider_for(
    settings: Settings, *, templates: TemplateCatalog | None = None
) -> SandboxProvider:
    """The provider of a server on `settings`, not started yet: the configured backend, its
    local state in the data directory's `sandboxes/`, the data directory hidden from every
    session, the templates of `settings` (`templates`, when the caller has built them already;
    a front end points its egress records elsewhere with `record_egress_to`)."""
    if templates is None:
        from sandbox_analyst.sandbox.templates import TemplateCatalog

        templates = TemplateCatalog.from_settings(settings)
    return create_provider(
        settings.sandbox,
        settings.data_dir / "sandboxes",
        hidden_paths=(str(settings.data_dir),),
        templates=templates,
    )


def backend_factory(name: str) -> Callable[..., SandboxProvider]:
    """What builds backend `name`'s provider, imported now: `BackendUnavailableError` when
    it is unknown or not installed (check this early, e.g. before a server starts)."""
    target = BACKENDS.get(name)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise BackendUnavailableError(f"unknown sandbox backend {name!r} (known: {known})")
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise BackendUnavailableError(
                f"the {name!r} sandbox backend is not part of this installation "
                f"({module_name} is missing); set sandbox.backend to another one"
            ) from exc
        raise BackendUnavailableError(
            f"the {name!r} sandbox backend needs the Python package {missing!r}, which is not "
            "installed"
        ) from exc
    factory: object = module
    for name_part in attribute.split("."):
        factory = getattr(factory, name_part, None)
    if not callable(factory):
        raise BackendUnavailableError(f"the {name!r} sandbox backend has no {target}")
    return factory
