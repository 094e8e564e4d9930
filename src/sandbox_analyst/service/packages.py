"""Approved installs, the policy part: who may have which package in their session, the admin's
approval queue for everything else, and the audit log of every request.

    outcome = await packages.install(PackageAsk(owner_id, conversation_id, assistant), sandbox,
                                     "faker", None)

A request is allowed by the server's list (`sandbox.allowed_packages`), the assistant's
(`allowed_packages`) or an admin's earlier approval; anything else becomes a pending request
(`analyst packages pending | approve | deny`) and is installed once approved and asked for
again. The fetching, the wheels-only rule, the cache and the size limits are the sandbox
layer's `PackageInstaller`; every outcome is written to `package_installs`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name
from sqlalchemy import select

from sandbox_analyst.agent.packages import PackageReply, PackageRequester
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import Sandbox, SandboxError
from sandbox_analyst.sandbox.templates import (
    AllowList,
    InstallResult,
    PackageError,
    PackageIndex,
    PackageInstaller,
    PackageLimits,
    PackageNotAllowed,
    UvRunner,
    WheelCache,
)
from sandbox_analyst.service.errors import NotFound, ValidationError
from sandbox_analyst.store import Assistant, Database, PackageInstall, PackageRequest, utcnow

Outcome = Literal["installed", "already_installed", "pending", "refused", "denied", "failed"]
_MIB = 1024 * 1024


@dataclass(frozen=True)
class PackageAsk:
    """Who asks: the session's owner, its conversation and the assistant it runs."""

    owner_id: str
    conversation_id: str | None
    assistant: Assistant


@dataclass(frozen=True)
class InstallOutcome:
    outcome: Outcome
    name: str
    version: str
    message: str  # what the model (or the user) is told
    request_id: str | None = None  # the pending request, when it waits for an admin

    @property
    def ok(self) -> bool:
        return self.outcome in ("installed", "already_installed")


def package_requester(
    packages: PackageService, ask: PackageAsk, sandbox: Sandbox
) -> PackageRequester | None:
    """What the agent asks packages through in this turn; None when the assistant does not
    allow installs (the model is then not offered the tool)."""
    if not ask.assistant.allow_installs:
        return None

    async def request(name: str, version: str | None) -> PackageReply:
        outcome = await packages.install(ask, sandbox, name, version)
        return PackageReply(outcome.ok, outcome.message)

    return request


class PackageService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._installer: PackageInstaller | None = None

    def _installer_for_settings(self) -> PackageInstaller:
        if self._installer is None:
            sandbox = self._settings.sandbox
            index = PackageIndex(
                sandbox.package_index, tuple(sandbox.extra_index_urls), tuple(sandbox.find_links)
            )
            limits = PackageLimits(
                max_package_bytes=sandbox.max_package_mb * _MIB,
                max_total_bytes=sandbox.max_session_packages_mb * _MIB,
            )
            cache = WheelCache(self._settings.data_dir / "wheels")
            self._installer = PackageInstaller(UvRunner(index), cache, limits)
        return self._installer

    async def install(
        self, ask: PackageAsk, sandbox: Sandbox, name: str, version: str | None = None
    ) -> InstallOutcome:
        """Install `name` (at `version`, if given) into `sandbox`'s overlay if allowed; the
        outcome says what happened and is logged. Never raises for a refused or failed
        install: the model is told instead."""
        version = (version or "").strip() or None
        outcome = await self._install(ask, sandbox, name.strip(), version)
        await self._log(ask, sandbox, outcome)
        return outcome.reply

    async def _install(
        self, ask: PackageAsk, sandbox: Sandbox, name: str, version: str | None
    ) -> _Logged:
        assistant = ask.assistant
        canonical = canonicalize_name(name) if name else name
        if not assistant.allow_installs:
            return _Logged.of(
                "refused",
                canonical,
                version,
                f"the assistant {assistant.name!r} does not allow package installs; an admin "
                "or its owner can allow them (approved installs) or add the package to its "
                "template",
            )
        denied = await self._decided(canonical, version, "denied")
        if denied is not None:
            note = f" ({denied.note})" if denied.note else ""
            return _Logged.of(
                "denied",
                canonical,
                version,
                f"an admin denied {canonical!r}{note}; do not ask again",
            )
        approved = await self._approved_entries()
        allow = AllowList(
            (*self._settings.sandbox.allowed_packages, *approved),
            tuple(assistant.allowed_packages),
        )
        try:
            overlay = sandbox.package_overlay()
            result = await asyncio.to_thread(
                self._installer_for_settings().install,
                name,
                version,
                allow=allow,
                overlay=overlay.directory,
                layers=overlay.layers,
            )
            await sandbox.activate_package_overlay()
        except PackageNotAllowed:
            request = await self._ask_admin(ask, canonical, version)
            return _Logged.of(
                "pending",
                canonical,
                version,
                f"{canonical!r} is not on the allow-list; it waits for an admin's approval "
                f"(request {request.id}: `analyst packages approve {request.id}`). Tell the user; "
                "continue without it for now.",
                request_id=request.id,
            )
        except (PackageError, SandboxError) as exc:
            return _Logged.of("failed", canonical, version, str(exc))
        return _Logged.installed(result)

    async def _decided(self, name: str, version: str | None, status: str) -> PackageRequest | None:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PackageRequest).where(
                    PackageRequest.name == name,
                    PackageRequest.status == status,
                    PackageRequest.version.in_(["", version or ""]),
                )
            )
            return rows.first()

    async def _approved_entries(self) -> list[str]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(PackageRequest).where(PackageRequest.status == "approved")
            )
            return [f"{row.name}=={row.version}" if row.version else row.name for row in rows]

    async def _ask_admin(self, ask: PackageAsk, name: str, version: str | None) -> PackageRequest:
        async with self._db.session() as session:
            existing = (
                await session.scalars(
                    select(PackageRequest).where(
                        PackageRequest.name == name, PackageRequest.version == (version or "")
                    )
                )
            ).first()
            if existing is not None:
                existing.times_requested += 1
                return existing
            request = PackageRequest(
                name=name,
                version=version or "",
                status="pending",
                requested_by=ask.owner_id,
                assistant_id=ask.assistant.id,
            )
            session.add(request)
        return request

    async def _log(self, ask: PackageAsk, sandbox: Sandbox, logged: _Logged) -> None:
        outcome = logged.reply
        async with self._db.session() as session:
            session.add(
                PackageInstall(
                    owner_id=ask.owner_id,
                    conversation_id=ask.conversation_id,
                    assistant_id=ask.assistant.id,
                    sandbox_id=sandbox.sandbox_id,
                    name=outcome.name,
                    version=outcome.version,
                    outcome=outcome.outcome,
                    detail=outcome.message,
                    wheels=logged.wheels,
                )
            )

    # --- the admin's side ------------------------------------------------------------------

    async def requests(self, status: str | None = "pending") -> list[PackageRequest]:
        statement = select(PackageRequest).order_by(PackageRequest.created_at)
        if status is not None:
            statement = statement.where(PackageRequest.status == status)
        async with self._db.session() as session:
            return list(await session.scalars(statement))

    async def decide(
        self, request_id: str, status: Literal["approved", "denied"], *, by: str, note: str = ""
    ) -> PackageRequest:
        """Approve (allowed server-wide from now on) or deny a request, by id or by name."""
        async with self._db.session() as session:
            request = await session.get(PackageRequest, request_id)
            if request is None:
                matches = list(
                    await session.scalars(
                        select(PackageRequest).where(
                            PackageRequest.name == canonicalize_name(request_id)
                        )
                    )
                )
                if len(matches) > 1:
                    raise ValidationError(
                        f"{request_id!r} matches {len(matches)} requests; give the request's id"
                    )
                request = matches[0] if matches else None
            if request is None:
                raise NotFound(
                    f"no package request {request_id!r} (see `analyst packages pending`)"
                )
            request.status = status
            request.decided_by = by
            request.decided_at = utcnow()
            request.note = note
        return request

    async def approved_requirements(self) -> list[str]:
        """Approved packages as requirements for a template: the approved version, else the
        newest one installed (from the audit log), else any."""
        async with self._db.session() as session:
            approved = list(
                await session.scalars(
                    select(PackageRequest)
                    .where(PackageRequest.status == "approved")
                    .order_by(PackageRequest.created_at)
                )
            )
            installed = await session.scalars(
                select(PackageInstall)
                .where(PackageInstall.outcome == "installed")
                .order_by(PackageInstall.created_at)
            )
            versions = {entry.name: entry.version for entry in installed}
        requirements = []
        for request in approved:
            version = request.version or versions.get(request.name)
            requirements.append(f"{request.name}=={version}" if version else request.name)
        return requirements

    async def log(self, limit: int = 50) -> list[PackageInstall]:
        statement = select(PackageInstall).order_by(PackageInstall.created_at.desc()).limit(limit)
        async with self._db.session() as session:
            return list(await session.scalars(statement))

    def close(self) -> None:
        if self._installer is not None:
            self._installer.close()
            self._installer = None


@dataclass(frozen=True)
class _Logged:
    reply: InstallOutcome
    wheels: list[dict[str, object]]

    @classmethod
    def of(
        cls,
        outcome: Outcome,
        name: str,
        version: str | None,
        message: str,
        *,
        request_id: str | None = None,
    ) -> _Logged:
        return cls(InstallOutcome(outcome, name, version or "", message, request_id), [])

    @classmethod
    def installed(cls, result: InstallResult) -> _Logged:
        wheels = [
            {
                "name": wheel.name,
                "version": wheel.version,
                "filename": wheel.filename,
                "sha256": wheel.sha256,
                "size": wheel.size,
                "downloaded": wheel.downloaded,
            }
            for wheel in result.wheels
        ]
        if result.already_installed:
            outcome = InstallOutcome(
                "already_installed",
                result.name,
                result.version,
                f"{result.name} {result.version} is already installed here; import it",
            )
        else:
            added = ", ".join(f"{w['name']} {w['version']}" for w in wheels) or "nothing new"
            outcome = InstallOutcome(
                "installed",
                result.name,
                result.version,
                f"installed {result.name} {result.version} (added: {added}); import it now",
            )
        return cls(outcome, wheels)
