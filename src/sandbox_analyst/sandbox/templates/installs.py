"""Approved installs, the engine part: the server fetches a package's wheels and installs them
into a per-session overlay directory that a sandbox has on its import path.

    installer = PackageInstaller(uv, WheelCache(data_dir / "wheels"))
    result = installer.install("faker", allow=AllowList(("faker",)), overlay=session_dir,
                               layers=(template_build.site_dir,))

The sandbox never reaches the network. The request is checked against the allow-list (global
and the assistant's: plain data here, owned by the service), resolved with uv against the base
environment plus the template's and the session's overlays (nothing they hold is replaced),
and its wheels only (never an sdist: nothing runs at install time) are fetched into the shared
content-addressed cache, within the size limits. The allow-list applies to what is asked
for; its dependencies come with it from the same index.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from sandbox_analyst.sandbox.templates.base_env import base_packages, installed_packages
from sandbox_analyst.sandbox.templates.builds import tree_size
from sandbox_analyst.sandbox.templates.errors import (
    InvalidRequirementError,
    PackageConflict,
    PackageNotAllowed,
    PackageTooLarge,
)
from sandbox_analyst.sandbox.templates.simple_index import SimpleIndexClient
from sandbox_analyst.sandbox.templates.uv_runner import Pin, UvRunner
from sandbox_analyst.sandbox.templates.wheel_cache import WheelCache

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class AllowList:
    """Requirements an admin allowed, e.g. `faker`, `regex>=2024`, or `*` for anything on the
    index; a package is allowed if the global list or the assistant's allows it."""

    global_entries: tuple[str, ...] = ()
    assistant_entries: tuple[str, ...] = ()

    def allows(self, name: str, version: str | None = None) -> bool:
        """Whether `name` (at `version`, if given) matches an entry. Without a version, an
        entry with a version range counts: the resolved version is checked again."""
        for entry in (*self.global_entries, *self.assistant_entries):
            if entry.strip() == "*":
                return True
            try:
                requirement = Requirement(entry)
            except InvalidRequirement:
                continue  # a bad entry allows nothing
            if canonicalize_name(requirement.name) != name:
                continue
            if version is None or requirement.specifier.contains(version, prereleases=True):
                return True
        return False

    def check(self, name: str, version: str | None = None) -> None:
        if not self.allows(name, version):
            detail = f"version {version}" if version else ""
            raise PackageNotAllowed(name, detail)


@dataclass(frozen=True)
class PackageLimits:
    max_package_bytes: int = 200 * _MIB
    """Per wheel: its download and its unpacked size (a zip bomb is refused unopened)."""
    max_total_bytes: int = 1024 * _MIB
    """Per overlay: what it holds already plus the unpacked size of what is added."""


@dataclass(frozen=True)
class InstalledWheel:
    name: str
    version: str
    filename: str
    sha256: str
    size: int
    """Bytes of the wheel file."""
    unpacked_size: int
    downloaded: bool
    """False when it came from the cache (another session fetched it before)."""


@dataclass(frozen=True)
class InstallResult:
    name: str
    version: str
    overlay: Path
    wheels: tuple[InstalledWheel, ...]
    """What was added (the package and the dependencies the environment lacked)."""
    already_installed: bool = False


class PackageInstaller:
    def __init__(
        self,
        uv: UvRunner,
        cache: WheelCache,
        limits: PackageLimits | None = None,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self.uv = uv
        self.cache = cache
        self.limits = limits or PackageLimits()
        self.http = http or httpx.Client(timeout=60.0, follow_redirects=True)
        self.index = SimpleIndexClient(uv.index, self.http)

    def install(
        self,
        name: str,
        version: str | None = None,
        *,
        allow: AllowList,
        overlay: Path,
        layers: Sequence[Path] = (),
    ) -> InstallResult:
        """Install `name` (latest, or exactly `version`) into `overlay`. `layers` are the
        overlays already below it (the template's build), whose packages count as present."""
        canonical = _validate(name, version)
        overlay.mkdir(parents=True, exist_ok=True)
        with _locked(overlay):
            overlays = installed_packages([*map(str, layers), overlay])
            present = {**base_packages(), **overlays}
            if canonical in present:  # nothing to fetch, so nothing to approve
                return self._already(canonical, version, present[canonical], overlay)
            allow.check(canonical, version)
            wanted = f"{canonical}=={version}" if version else canonical
            pins = [f"{other}=={v}" for other, v in sorted(overlays.items())]
            resolution = self.uv.resolve([wanted, *pins])
            if resolution.replaced:
                conflicts = ", ".join(
                    f"{new.requirement()} (installed: {old.version})"
                    for old, new in resolution.replaced
                )
                raise PackageConflict(
                    f"{wanted} needs other versions of installed packages: {conflicts}"
                )
            added = [pin for pin in resolution.missing if pin.name not in overlays]
            resolved = next((pin.version for pin in added if pin.name == canonical), version)
            allow.check(canonical, resolved)
            wheels = self._fetch(added, overlay)
            if wheels:
                self.uv.install_files([path for _, path in wheels], overlay)
            return InstallResult(
                canonical, resolved or "", overlay, tuple(wheel for wheel, _ in wheels)
            )

    def _already(self, name: str, version: str | None, have: str, overlay: Path) -> InstallResult:
        if version is not None and Version(version) != Version(have):
            raise PackageConflict(
                f"{name} {have} is already installed here; a session cannot change it to {version}"
            )
        return InstallResult(name, have, overlay, (), already_installed=True)

    def _fetch(self, pins: list[Pin], overlay: Path) -> list[tuple[InstalledWheel, Path]]:
        limits = self.limits
        total = tree_size([overlay])
        fetched = []
        for pin in pins:
            link = self.index.best_wheel(pin)
            cached = self.cache.fetch(link, self.http, max_bytes=limits.max_package_bytes)
            total += cached.unpacked_size
            if total > limits.max_total_bytes:
                raise PackageTooLarge(
                    f"installing {pin.requirement()} would take this session's packages past "
                    f"the limit of {limits.max_total_bytes / _MIB:.1f} MiB"
                )
            wheel = InstalledWheel(
                pin.name, pin.version, link.filename, cached.sha256, cached.path.stat().st_size,
                cached.unpacked_size, cached.downloaded,
            )  # fmt: skip
            fetched.append((wheel, cached.path))
        return fetched

    def close(self) -> None:
        self.http.close()


def _validate(name: str, version: str | None) -> str:
    if not _NAME.match(name):
        raise InvalidRequirementError(f"{name!r} is not a package name")
    if version is not None:
        try:
            Version(version)
        except InvalidVersion as exc:
            raise InvalidRequirementError(f"{version!r} is not a version") from exc
    return canonicalize_name(name)


@contextmanager
def _locked(overlay: Path) -> Iterator[None]:
    """One install at a time per overlay, across threads and processes."""
    fd = os.open(overlay / ".install.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
