"""Template builds on disk, and who still uses them.

    <root>/<name>/builds/<build_id>/      one immutable build
        site/        the overlay: packages the base lacks (first on the sandbox's import path)
        data/        what the setup code wrote ($TEMPLATE_DATA), read-only in sessions
        files/       copied into each new session's workdir
        lock.txt     exact versions + hashes;  spec.json, build.json, build.log, .lease
    <root>/<name>/current -> builds/<build_id>    switched atomically (rename of a symlink)
    <root>/<name>/.lock                           held while building or collecting

A running user of a build (a template's zygote and its sessions) holds a shared `flock` on its
`.lease`; an old build is deleted only once nobody holds it, so a rebuild never pulls files from
under a session that is still running. Locks are per open file and vanish with the process, so a
crashed server never leaves a build pinned.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sandbox_analyst.sandbox.templates.errors import TemplateNotBuiltError
from sandbox_analyst.sandbox.templates.spec import TemplateSpec

BUILD_FORMAT = 1
_LEASE = ".lease"
_TRASH = ".trash-"


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str


@dataclass(frozen=True)
class BuildInfo:
    name: str
    build_id: str
    spec_hash: str
    base_fingerprint: str
    built_at: str
    """ISO 8601, UTC."""
    build_seconds: float
    packages: tuple[LockedPackage, ...]
    index: str
    uv_version: str
    format: int = BUILD_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BuildInfo:
        raw = json.loads(text)
        raw["packages"] = tuple(LockedPackage(**item) for item in raw["packages"])
        return cls(**raw)


@dataclass(frozen=True)
class TemplateBuild:
    """One finished, immutable build."""

    path: Path
    info: BuildInfo

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def site_dir(self) -> Path:
        return self.path / "site"

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def files_dir(self) -> Path:
        return self.path / "files"

    @property
    def lock_file(self) -> Path:
        return self.path / "lock.txt"

    @property
    def log_file(self) -> Path:
        return self.path / "build.log"

    def spec(self) -> TemplateSpec:
        return TemplateSpec.model_validate_json((self.path / "spec.json").read_text())

    def environment(self) -> dict[str, str]:
        """Variables every session of this build gets (the spec's `env`, resolved)."""
        return self.spec().environment(self.data_dir)

    def size_bytes(self) -> int:
        return tree_size([self.path])

    def place_files(self, workdir: Path) -> list[str]:
        """Copy the template's files into a new session's workdir; returns what was placed."""
        placed = []
        for source in sorted(self.files_dir.rglob("*")):
            relative = source.relative_to(self.files_dir)
            target = workdir / relative
            if source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                placed.append(relative.as_posix())
        return placed

    def lease(self) -> BuildLease:
        """Keep this build on disk while the returned lease is held."""
        return BuildLease.acquire(self)


class BuildLease:
    def __init__(self, build: TemplateBuild, fd: int) -> None:
        self.build = build
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, build: TemplateBuild) -> BuildLease:
        path = build.path / _LEASE
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise TemplateNotBuiltError(build.name) from exc
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            # The collector may have moved the build away between our open and our lock.
            still_there = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            still_there = False
        if not still_there:
            os.close(fd)
            raise TemplateNotBuiltError(build.name)
        return cls(build, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> BuildLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class BuildStore:
    """Every template's builds under `root` (`<data_dir>/templates`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def template_dir(self, name: str) -> Path:
        return self.root / name

    def builds_dir(self, name: str) -> Path:
        return self.root / name / "builds"

    def current(self, name: str) -> TemplateBuild | None:
        link = self.template_dir(name) / "current"
        try:
            target = self.template_dir(name) / os.readlink(link)
            return _read_build(target)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def builds(self, name: str) -> list[TemplateBuild]:
        directory = self.builds_dir(name)
        if not directory.is_dir():
            return []
        found = []
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue
            build = _read_build(path)
            if build is not None:
                found.append(build)
        return found

    def built_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(path.name for path in self.root.iterdir() if (path / "builds").is_dir())

    def lease_current(self, name: str) -> BuildLease:
        """A lease on the template's current build (retrying once if a rebuild just switched
        it and collected the old one in between)."""
        for _ in range(2):
            build = self.current(name)
            if build is None:
                break
            with contextlib.suppress(TemplateNotBuiltError):
                return build.lease()
        raise TemplateNotBuiltError(name)

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """Serialize builds and removals of one template, across processes."""
        self.template_dir(name).mkdir(parents=True, exist_ok=True)
        fd = os.open(self.template_dir(name) / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def new_build_dir(self, name: str, build_id: str) -> Path:
        """A fresh directory to build into (call under `locked`). It is built at its final
        path, since setup code may record absolute paths, and counts as a build only once
        its `build.json` is written."""
        path = self.builds_dir(name) / build_id
        path.mkdir(parents=True)
        (path / _LEASE).touch()
        return path

    def publish(self, build: TemplateBuild) -> None:
        """Make a finished build the template's current one, atomically."""
        template_dir = build.path.parent.parent
        temporary = template_dir / f".current-{uuid.uuid4().hex}"
        os.symlink(f"builds/{build.path.name}", temporary)
        os.replace(temporary, template_dir / "current")

    def is_leased(self, build: TemplateBuild) -> bool:
        try:
            fd = os.open(build.path / _LEASE, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def collect(self, name: str, *, keep_current: bool = True) -> list[str]:
        """Delete the builds of `name` nobody uses (and leftovers of interrupted builds);
        returns the ids deleted. Call under `locked`."""
        directory = self.builds_dir(name)
        if not directory.is_dir():
            return []
        current = self.current(name) if keep_current else None
        removed = []
        for path in sorted(directory.iterdir()):
            if path.name.startswith(_TRASH) or not (path / "build.json").exists():
                shutil.rmtree(path, ignore_errors=True)  # left by an interrupted build
                continue
            if current is not None and path.name == current.info.build_id:
                continue
            if _remove_unleased(path):
                removed.append(path.name)
        return removed

    def unpublish(self, name: str) -> None:
        """Forget the current build (its files stay until collected)."""
        with contextlib.suppress(FileNotFoundError):
            (self.template_dir(name) / "current").unlink()

    def forget(self, name: str) -> bool:
        """Remove the template's directory once no build is left; False if some remain."""
        directory = self.builds_dir(name)
        if directory.is_dir() and any(directory.iterdir()):
            return False
        template_dir = self.template_dir(name)
        shutil.rmtree(directory, ignore_errors=True)
        for leftover in (".lock", "current"):
            with contextlib.suppress(FileNotFoundError):
                (template_dir / leftover).unlink()
        with contextlib.suppress(OSError):  # not empty: the admin keeps other files there
            template_dir.rmdir()
        return True


def tree_size(paths: Iterable[str | Path]) -> int:
    """Bytes of the files under `paths` (apparent sizes, links not followed)."""
    total = 0
    for root in paths:
        for directory, _, names in os.walk(root):
            for name in names:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(directory, name)).st_size
    return total


def _read_build(path: Path) -> TemplateBuild | None:
    try:
        info = BuildInfo.from_json((path / "build.json").read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return TemplateBuild(path, info)


def _remove_unleased(path: Path) -> bool:
    """Delete a build directory unless a lease is held on it."""
    try:
        fd = os.open(path / _LEASE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        shutil.rmtree(path, ignore_errors=True)
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        # Moved away while locked: a new lease opens the old path, fails, and retries.
        trash = path.with_name(f"{_TRASH}{path.name}")
        os.rename(path, trash)
    finally:
        os.close(fd)
    shutil.rmtree(trash, ignore_errors=True)
    return True
