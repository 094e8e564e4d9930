"""Downloaded wheels, stored by content (`sha256/ab/abcdef.../name.whl`) and shared by every
session: a package approved once is fetched once. Files are checked against the index's hash
and written whole (temporary file, then rename), so a reader never sees half a wheel."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from sandbox_analyst.sandbox.templates.errors import (
    IndexUnreachable,
    PackageError,
    PackageTooLarge,
)
from sandbox_analyst.sandbox.templates.simple_index import WheelLink

_CHUNK = 1 << 16
_MIB = 1024 * 1024


@dataclass(frozen=True)
class CachedWheel:
    path: Path
    unpacked_size: int
    downloaded: bool
    """False when it was in the cache already (another session fetched it)."""

    @property
    def sha256(self) -> str:
        return self.path.parent.name


class WheelCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str, filename: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256 / filename

    def cached(self, link: WheelLink) -> Path | None:
        if link.sha256 is None:
            return None
        path = self.path_for(link.sha256, link.filename)
        return path if path.is_file() else None

    def fetch(self, link: WheelLink, http: httpx.Client, *, max_bytes: int) -> CachedWheel:
        """The wheel in the cache, downloaded if needed. Refuses (keeping nothing) a file with
        the wrong hash, or whose download or unpacked size is over `max_bytes`."""
        found = self.cached(link)
        if found is not None:
            return CachedWheel(found, _checked_unpacked_size(found, max_bytes), downloaded=False)
        temporary_dir = self.root / "tmp"
        temporary_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=temporary_dir, suffix=".part")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as file:
                digest = self._download(link, http, file, max_bytes)
            if link.sha256 is not None and digest != link.sha256:
                raise PackageError(
                    f"{link.filename}: the download's sha256 {digest} differs from the index's "
                    f"{link.sha256}; refused"
                )
            unpacked = _checked_unpacked_size(temporary, max_bytes, link.filename)
            target = self.path_for(digest, link.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
            return CachedWheel(target, unpacked, downloaded=True)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()

    def _download(self, link: WheelLink, http: httpx.Client, file, max_bytes: int) -> str:
        digest = hashlib.sha256()
        size = 0
        if not link.url.startswith(("http://", "https://")):  # a find-links directory
            with open(link.url, "rb") as source:
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    size += len(chunk)
                    _check_size(link, size, max_bytes)
                    digest.update(chunk)
                    file.write(chunk)
            return digest.hexdigest()
        try:
            with http.stream("GET", link.url) as response:
                if response.status_code >= 400:
                    raise IndexUnreachable(
                        f"package index answered {response.status_code} for {link.url}"
                    )
                announced = response.headers.get("content-length")
                if announced is not None and announced.isdigit():
                    _check_size(link, int(announced), max_bytes)
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    _check_size(link, size, max_bytes)
                    digest.update(chunk)
                    file.write(chunk)
        except httpx.TransportError as exc:
            raise IndexUnreachable(f"could not download {link.url}: {exc}") from exc
        return digest.hexdigest()


def _checked_unpacked_size(path: Path, max_bytes: int, filename: str | None = None) -> int:
    """What the wheel unpacks to, refused over `max_bytes` (a zip bomb is never opened)."""
    name = filename or path.name
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{name} is not a valid wheel: {exc}") from exc
    if size > max_bytes:
        raise PackageTooLarge(
            f"{name} unpacks to {size / _MIB:.1f} MiB, over the limit of "
            f"{max_bytes / _MIB:.1f} MiB per package"
        )
    return size


def _check_size(link: WheelLink, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise PackageTooLarge(
            f"{link.filename} is larger than the limit of {max_bytes / _MIB:.1f} MiB per package"
        )
