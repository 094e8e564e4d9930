"""Sandboxes made through the E2B-compatible API: the one place that decides who owns one, how
long it lives, and what it may be handed.

A sandbox belongs to the user whose API key made it; nobody else can see, reach or end it
(another user is told it does not exist). It lives `timeout` seconds from its creation (E2B's
default 300 s), which its owner may change at any time; when the time is up, or the owner kills
it, its session ends (files included) and the record stays, ended, with the reason.

Sessions come from the sandbox layer through a `SessionSource`, so E2B sandboxes are sessions
like every other front end's and count in the same limits. Requests to a running sandbox (code,
files, commands) carry no API key in E2B's protocol: they carry the sandbox's access token,
which only its owner is handed (`create`, `connect`). The token is an HMAC of the sandbox id
under the server secret, so any process of this server can check it and nothing is stored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from sandbox_analyst.config import E2BSettings
from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.service.e2b.errors import (
    InvalidAccessToken,
    InvalidTimeout,
    SandboxNotRunning,
    TemplateNotFound,
)
from sandbox_analyst.service.e2b.live import LiveSandbox
from sandbox_analyst.service.e2b.metrics import MetricSample, SandboxLimits
from sandbox_analyst.service.errors import ValidationError
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.store import Database, E2BSandbox, utcnow

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "default"
# E2B's own names for its stock templates: all of them are our default template for now.
# E2B's own template names, all meaning our default template.
TEMPLATE_ALIASES = ("default", "base", "code-interpreter-v1", "code-interpreter")
_MAX_METADATA = 50
_MAX_ENV_VARS = 200


class TemplateNames(Protocol):
    """Which sandbox templates exist (the sandbox layer's catalog)."""

    def names(self) -> list[str]: ...


class SessionSource(Protocol):
    """Where the sessions of E2B sandboxes come from (the sandbox layer's session manager)."""

    async def open(
        self, key: tuple[str, str], env_vars: Mapping[str, str], template: str | None = None
    ) -> Sandbox: ...

    async def end(self, key: tuple[str, str]) -> None: ...


@dataclass(frozen=True)
class SandboxView:
    """What the owner is told of one of their sandboxes."""

    sandbox_id: str
    template_id: str
    metadata: dict[str, str]
    started_at: datetime
    end_at: datetime
    access_token: str


class E2BSandboxService:
    def __init__(
        self,
        db: Database,
        sessions: SessionSource,
        settings: E2BSettings,
        secret: bytes,
        templates: TemplateNames | None = None,
    ) -> None:
        """`templates`: our sandbox templates, which a `templateID` may name besides E2B's
        own names for the default one (`TEMPLATE_ALIASES`)."""
        self._db = db
        self._templates = templates
        self._sessions = sessions
        self._settings = settings
        self._secret = secret
        self._live: dict[str, LiveSandbox] = {}
        self._ending: set[str] = set()

    # --- control plane (on behalf of an API key's user) -----------------------------------

    async def create(
        self,
        principal: Principal,
        *,
        template_id: str | None,
        timeout: int | None,
        metadata: Mapping[str, str] | None = None,
        env_vars: Mapping[str, str] | None = None,
    ) -> SandboxView:
        template = self._template(template_id)
        seconds = self._timeout(timeout)
        labels = _string_map(metadata, "metadata", _MAX_METADATA)
        envs = _string_map(env_vars, "envVars", _MAX_ENV_VARS)
        sandbox_id = "i" + secrets.token_hex(10)
        session = await self._sessions.open(
            (principal.user_id, sandbox_id), envs, self._our_template(template)
        )
        now = utcnow()
        end_at = now + timedelta(seconds=seconds)
        record = E2BSandbox(
            id=sandbox_id,
            owner_id=principal.user_id,
            template_id=template,
            session_id=session.sandbox_id,
            labels=labels,
            started_at=now,
            end_at=end_at,
        )
        try:
            async with self._db.session() as db:
                db.add(record)
        except BaseException:
            await self._sessions.end((principal.user_id, sandbox_id))
            raise
        live = LiveSandbox(
            sandbox_id,
            principal.user_id,
            template,
            session,
            end_at=end_at,
            access_token=self.access_token(sandbox_id),
        )
        self._live[sandbox_id] = live
        self._schedule_expiry(live)
        return _view(record, live.access_token)

    async def list(
        self, principal: Principal, *, metadata: Mapping[str, str] | None = None
    ) -> list[SandboxView]:
        """The caller's running sandboxes, oldest first; `metadata` keeps those whose metadata
        holds every given pair."""
        async with self._db.session() as db:
            rows = list(
                await db.scalars(
                    select(E2BSandbox)
                    .where(E2BSandbox.owner_id == principal.user_id)
                    .where(E2BSandbox.ended_at.is_(None))
                    .order_by(E2BSandbox.started_at, E2BSandbox.id)
                )
            )
        views = []
        for row in rows:
            if await self._running(row) is None:
                continue
            if metadata and any(row.labels.get(k) != v for k, v in metadata.items()):
                continue
            views.append(_view(row, self.access_token(row.id)))
        return views

    async def get(self, principal: Principal, sandbox_id: str) -> SandboxView:
        row, _live = await self._owned(principal, sandbox_id)
        return _view(row, self.access_token(row.id))

    async def kill(self, principal: Principal, sandbox_id: str) -> None:
        await self._owned(principal, sandbox_id)
        await self._end(sandbox_id, "killed")

    async def set_timeout(self, principal: Principal, sandbox_id: str, timeout: int) -> None:
        """The sandbox ends `timeout` seconds from now (sooner or later than it would have)."""
        row, live = await self._owned(principal, sandbox_id)
        await self._set_end(row, live, utcnow() + timedelta(seconds=self._timeout(timeout)))

    async def connect(
        self, principal: Principal, sandbox_id: str, timeout: int | None
    ) -> SandboxView:
        """The owner's handle on a running sandbox. A timeout only ever extends its life, as
        E2B does for running sandboxes."""
        row, live = await self._owned(principal, sandbox_id)
        if timeout is not None:
            wanted = utcnow() + timedelta(seconds=self._timeout(timeout))
            if wanted > row.end_at:
                await self._set_end(row, live, wanted)
        return _view(row, self.access_token(row.id))

    async def metrics(
        self,
        principal: Principal,
        sandbox_id: str,
        limits: SandboxLimits,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[MetricSample]:
        """The sandbox's CPU, memory and disk samples between `start` and `end`, a new one
        taken now."""
        _row, live = await self._owned(principal, sandbox_id)
        await live.metrics.sample(live.interpreters(), limits)
        return live.metrics.between(start, end)

    # --- data plane (on behalf of whoever holds the sandbox's access token) ---------------

    def reach(self, sandbox_id: str, token: str | None) -> LiveSandbox:
        """The running sandbox `sandbox_id` for a request carrying `token`. No database: this
        is on the path of every execution and file transfer."""
        live = self._running_here(sandbox_id)
        if token is None or not hmac.compare_digest(token, live.access_token):
            raise InvalidAccessToken("missing or wrong access token for this sandbox")
        return live

    def reach_signed(
        self,
        sandbox_id: str,
        *,
        path: str,
        operation: str,
        user: str,
        signature: str,
        expiration: int | None,
    ) -> LiveSandbox:
        """The running sandbox for a presigned file URL (E2B's `download_url` / `upload_url`):
        `signature` is `v1_` + base64(SHA-256(path:operation:user:token[:expiration]))."""
        live = self._running_here(sandbox_id)
        parts = [path, operation, user, live.access_token]
        if expiration is not None:
            if expiration < utcnow().timestamp():
                raise InvalidAccessToken("this signed URL has expired")
            parts.append(str(expiration))
        digest = hashlib.sha256(":".join(parts).encode()).digest()
        expected = "v1_" + base64.b64encode(digest).rstrip(b"=").decode()
        if not hmac.compare_digest(signature, expected):
            raise InvalidAccessToken("the URL's signature does not match")
        return live

    def _running_here(self, sandbox_id: str) -> LiveSandbox:
        live = self._live.get(sandbox_id)
        if live is None or live.closed or sandbox_id in self._ending:
            if live is not None and sandbox_id not in self._ending:
                self._spawn_end(sandbox_id, "lost")
            raise SandboxNotRunning(sandbox_id)
        if live.end_at <= utcnow():
            self._spawn_end(sandbox_id, "timeout")
            raise SandboxNotRunning(sandbox_id)
        return live

    def is_running(self, sandbox_id: str) -> bool:
        """Whether `sandbox_id` runs here (what a health check may tell anyone)."""
        live = self._live.get(sandbox_id)
        return live is not None and not live.closed and live.end_at > utcnow()

    def access_token(self, sandbox_id: str) -> str:
        digest = hmac.new(self._secret, f"e2b-sandbox:{sandbox_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

    # --- lifecycle -----------------------------------------------------------------------

    async def shutdown(self) -> None:
        """End every sandbox this process runs (the server is stopping)."""
        for sandbox_id in list(self._live):
            await self._end(sandbox_id, "server_stopped")

    async def _owned(self, principal: Principal, sandbox_id: str) -> tuple[E2BSandbox, LiveSandbox]:
        async with self._db.session() as db:
            row = await db.get(E2BSandbox, sandbox_id) if _plausible(sandbox_id) else None
        if row is None or row.owner_id != principal.user_id or row.ended_at is not None:
            raise SandboxNotRunning(sandbox_id)
        live = await self._running(row)
        if live is None:
            raise SandboxNotRunning(sandbox_id)
        return row, live

    async def _running(self, row: E2BSandbox) -> LiveSandbox | None:
        """The live sandbox of an unended record, ending the record if its time is up or its
        session is gone (reaped, lost with a restarted server)."""
        live = self._live.get(row.id)
        if live is not None and not live.closed and row.end_at > utcnow():
            return live
        reason = "timeout" if row.end_at <= utcnow() else "lost"
        await self._end(row.id, reason)
        return None

    async def _set_end(self, row: E2BSandbox, live: LiveSandbox, end_at: datetime) -> None:
        async with self._db.session() as db:
            stored = await db.get(E2BSandbox, row.id)
            if stored is not None:
                stored.end_at = end_at
        row.end_at = end_at
        live.end_at = end_at
        self._schedule_expiry(live)

    def _schedule_expiry(self, live: LiveSandbox) -> None:
        if live.expiry is not None:
            live.expiry.cancel()
        delay = max(0.0, (live.end_at - utcnow()).total_seconds())
        live.expiry = asyncio.get_running_loop().call_later(
            delay, self._spawn_end, live.sandbox_id, "timeout"
        )

    def _spawn_end(self, sandbox_id: str, reason: str) -> None:
        if sandbox_id in self._ending:
            return
        task = asyncio.get_running_loop().create_task(self._end(sandbox_id, reason))
        task.add_done_callback(_log_failure)

    async def _end(self, sandbox_id: str, reason: str) -> None:
        """End the session (if this process runs it) and the record. Idempotent."""
        if sandbox_id in self._ending:
            return
        self._ending.add(sandbox_id)
        try:
            live = self._live.pop(sandbox_id, None)
            if live is not None:
                await live.close()
                await self._sessions.end((live.owner_id, sandbox_id))
            async with self._db.session() as db:
                row = await db.get(E2BSandbox, sandbox_id)
                if row is not None and row.ended_at is None:
                    row.ended_at = utcnow()
                    row.end_reason = reason
            logger.info("E2B sandbox %s ended (%s)", sandbox_id, reason)
        finally:
            self._ending.discard(sandbox_id)

    def _template(self, template_id: str | None) -> str:
        """The template id as given (kept with the record), checked: an E2B alias of our
        default, or one of our templates (a `:tag` suffix is ignored)."""
        name = (template_id or DEFAULT_TEMPLATE).strip()
        ours = self._templates.names() if self._templates is not None else []
        if name.split(":", 1)[0] not in (*TEMPLATE_ALIASES, *ours):
            known = list(dict.fromkeys((*TEMPLATE_ALIASES, *ours)))
            raise TemplateNotFound(name, known)
        return name

    @staticmethod
    def _our_template(template_id: str) -> str | None:
        base = template_id.split(":", 1)[0]
        return None if base in TEMPLATE_ALIASES else base

    def _timeout(self, timeout: int | None) -> int:
        if timeout is None:
            return self._settings.default_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise InvalidTimeout("timeout must be a whole number of seconds, at least 1")
        if timeout > self._settings.max_timeout:
            raise InvalidTimeout(
                f"timeout cannot be greater than {self._settings.max_timeout} seconds"
            )
        return timeout


def _view(row: E2BSandbox, token: str) -> SandboxView:
    return SandboxView(
        sandbox_id=row.id,
        template_id=row.template_id,
        metadata=dict(row.labels),
        started_at=row.started_at,
        end_at=row.end_at,
        access_token=token,
    )


def _plausible(sandbox_id: str) -> bool:
    return 0 < len(sandbox_id) <= 64 and sandbox_id.isascii() and sandbox_id.isalnum()


def _string_map(value: Mapping[str, str] | None, name: str, limit: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > limit:
        raise ValidationError(f"{name} must be an object of at most {limit} strings", field=name)
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str) or not key or "\x00" in key:
            raise ValidationError(f"{name} must map non-empty names to strings", field=name)
        if "\x00" in item:
            raise ValidationError(f"{name}[{key!r}] holds a NUL character", field=name)
    return dict(value)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("ending an E2B sandbox failed", exc_info=task.exception())
