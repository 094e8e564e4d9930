"""`E2BProvider`: sessions that are E2B sandboxes (E2B's cloud, a self-hosted E2B, or any
E2B-compatible server), created and found through E2B's official SDK.

    provider = E2BProvider.from_settings(settings.sandbox, root)
    async with provider:
        sandbox = await provider.create(SessionSpec(template="analysis"))

A session's id is its E2B sandbox id: stored, it is reconnected to from any process holding
the same API key, for as long as E2B keeps the sandbox (`sandbox.e2b.timeout` after its last
use). The sandboxes this backend makes carry a metadata key of their own, so that listing
shows only them, not the other sandboxes of the same E2B team.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from e2b import SandboxQuery, SandboxState
from e2b_code_interpreter import AsyncSandbox

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox.base import Sandbox, checked_env_vars
from sandbox_analyst.sandbox.e2b.errors import E2BAuthError, E2BError, is_sdk_error, translate
from sandbox_analyst.sandbox.e2b.sandbox import E2BSandbox
from sandbox_analyst.sandbox.errors import (
    SandboxClosedError,
    SandboxNotFoundError,
    SandboxStartError,
)
from sandbox_analyst.sandbox.provider import (
    ProviderHealth,
    SandboxProvider,
    SessionRecord,
    SessionSpec,
)

# Metadata keys this backend keeps on its sandboxes, besides the session's labels.
OWNER_KEY = "sandbox-analyst"
TEMPLATE_KEY = "sandbox-analyst-template"
_SANDBOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class E2BProvider(SandboxProvider):
    backend = "e2b"

    @classmethod
    def from_settings(
        cls, settings: SandboxSettings, root: Path, *, hidden_paths: Sequence[str] = ()
    ) -> E2BProvider:
        """What `create_provider` calls. `root` and `hidden_paths` concern sessions on this
        machine; E2B's sandboxes run elsewhere and keep their files there."""
        del root, hidden_paths
        return cls(settings)

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.e2b = settings.e2b
        self._sessions: dict[str, E2BSandbox] = {}
        self._owned: set[str] = set()  # ids of sessions this process created
        self._started = False
        self._closed = False

    def connection(self) -> dict[str, Any]:
        """The SDK's connection options, from `sandbox.e2b` (unset ones fall back to the
        SDK's E2B_* environment variables). Debug mode is off whatever E2B_DEBUG says: in
        it the SDK would skip killing sandboxes."""
        options: dict[str, Any] = {
            "debug": False,
            "request_timeout": self.e2b.request_timeout,
        }
        if self.e2b.api_key is not None and self.e2b.api_key.get_secret_value():
            options["api_key"] = self.e2b.api_key.get_secret_value()
        for name in ("domain", "api_url", "sandbox_url"):
            value = getattr(self.e2b, name)
            if value:
                options[name] = value
        return options

    @property
    def _where(self) -> str:
        return self.e2b.api_url or f"https://api.{self.e2b.domain or 'e2b.app'}"

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Check that E2B answers and takes the API key: a bad key is refused here, with the
        setting to fix, not at the first conversation."""
        if self._closed:
            raise SandboxClosedError("the E2B provider was shut down")
        if self._started:
            return
        try:
            await self._list_page(limit=1)
        except E2BAuthError:
            raise
        except E2BError as exc:
            raise SandboxStartError(f"E2B at {self._where} is not usable: {exc}") from exc
        self._started = True

    async def shutdown(self) -> None:
        """Kill the sandboxes this process created; let go of those it only connected to."""
        self._closed = True
        for sandbox_id, sandbox in list(self._sessions.items()):
            if sandbox_id in self._owned:
                await sandbox.close()
            else:
                sandbox.detach()

    # --- sessions --------------------------------------------------------------------------

    async def create(self, spec: SessionSpec | None = None) -> Sandbox:
        spec = spec or SessionSpec()
        await self._require_started()
        template_name = spec.template or "default"
        metadata = {
            **{str(key): str(value) for key, value in spec.labels.items()},
            OWNER_KEY: "1",
            TEMPLATE_KEY: template_name,
        }
        try:
            sdk = await AsyncSandbox.create(
                template=self._template_id(spec.template),
                timeout=self.e2b.timeout,
                metadata=metadata,
                envs=checked_env_vars(spec.env_vars) or None,
                **self.connection(),
            )
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            error = translate(exc, f"create a sandbox from template {template_name!r}")
            if isinstance(error, SandboxStartError):
                raise error from exc
            raise SandboxStartError(str(error)) from exc
        sandbox = E2BSandbox(sdk, self.settings, on_close=self._forget, fresh=True)
        self._sessions[sandbox.sandbox_id] = sandbox
        self._owned.add(sandbox.sandbox_id)
        return sandbox

    def _template_id(self, template: str | None) -> str:
        if template is None or template == "default":
            return self.e2b.templates.get("default", self.e2b.template)
        return self.e2b.templates.get(template, template)

    async def connect(self, sandbox_id: str) -> Sandbox:
        live = self._sessions.get(sandbox_id)
        if live is not None and not live.closed:
            return live
        if not _SANDBOX_ID.fullmatch(sandbox_id):
            raise SandboxNotFoundError(f"{sandbox_id!r} is not an E2B sandbox id")
        await self._require_started()
        try:
            sdk = await AsyncSandbox.connect(
                sandbox_id, timeout=self.e2b.timeout, **self.connection()
            )
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            error = translate(exc, f"connect to sandbox {sandbox_id}")
            if isinstance(error, SandboxNotFoundError):
                raise SandboxNotFoundError(f"no live E2B sandbox {sandbox_id!r}") from exc
            raise error from exc
        sandbox = E2BSandbox(sdk, self.settings, on_close=self._forget)
        self._sessions[sandbox_id] = sandbox
        return sandbox

    async def end(self, sandbox_id: str) -> bool:
        live = self._sessions.get(sandbox_id)
        if live is not None and not live.closed:
            await live.close()
            return True
        if not _SANDBOX_ID.fullmatch(sandbox_id):
            return False
        await self._require_started()
        try:
            return bool(await AsyncSandbox.kill(sandbox_id, **self.connection()))
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            error = translate(exc, f"kill sandbox {sandbox_id}")
            if isinstance(error, SandboxNotFoundError):
                return False
            raise error from exc

    async def list_sessions(self) -> list[SessionRecord]:
        """The running sandboxes this backend made, with this API key (whichever process
        made them)."""
        await self._require_started()
        records = []
        for info in await self._list_all():
            metadata = dict(info.metadata or {})
            template = metadata.pop(TEMPLATE_KEY, None) or info.template_id
            metadata.pop(OWNER_KEY, None)
            records.append(
                SessionRecord(
                    sandbox_id=info.sandbox_id,
                    template=template,
                    labels=metadata,
                    started_at=info.started_at.timestamp(),
                )
            )
        return records

    async def health(self) -> ProviderHealth:
        facts: dict[str, Any] = {
            "api_url": self._where,
            "template": self.e2b.template,
            "sandbox_timeout_s": self.e2b.timeout,
        }
        sessions = sum(1 for sandbox in self._sessions.values() if not sandbox.closed)
        try:
            began = time.perf_counter()
            await self._list_page(limit=1)
            facts["round_trip_ms"] = round((time.perf_counter() - began) * 1000, 1)
        except E2BError as exc:
            return ProviderHealth(self.backend, False, str(exc), sessions, facts)
        detail = f"E2B at {self._where}, template {self.e2b.template!r}"
        return ProviderHealth(self.backend, self._started, detail, sessions, facts)

    # --- helpers ---------------------------------------------------------------------------

    async def _require_started(self) -> None:
        if self._closed:
            raise SandboxClosedError("the E2B provider was shut down")
        if not self._started:
            await self.start()

    def _query(self) -> SandboxQuery:
        return SandboxQuery(metadata={OWNER_KEY: "1"}, state=[SandboxState.RUNNING])

    async def _list_page(self, *, limit: int) -> list[Any]:
        try:
            paginator = AsyncSandbox.list(query=self._query(), limit=limit, **self.connection())
            return list(await paginator.next_items())
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            raise translate(exc, "list sandboxes") from exc

    async def _list_all(self) -> list[Any]:
        try:
            paginator = AsyncSandbox.list(query=self._query(), **self.connection())
            items: list[Any] = []
            while paginator.has_next:
                items.extend(await paginator.next_items())
            return items
        except Exception as exc:
            if not is_sdk_error(exc):
                raise
            raise translate(exc, "list sandboxes") from exc

    def _forget(self, sandbox: E2BSandbox) -> None:
        if self._sessions.get(sandbox.sandbox_id) is sandbox:
            del self._sessions[sandbox.sandbox_id]
        self._owned.discard(sandbox.sandbox_id)
