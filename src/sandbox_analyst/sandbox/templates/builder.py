"""Building a template: its packages as an *overlay* on the server's own environment.

A template build holds only what the base environment lacks, installed with uv into `site/`,
a directory placed first on the sandbox's import path; the interpreter, IPython, numpy,
pandas, matplotlib and the worker code are the server's own:

1. resolve the template's requirements against the base environment with
   `uv pip install --dry-run --output-format json` (installed packages satisfy what they can);
   a requirement that would *replace* a base package (another numpy, IPython...) is refused,
   since the worker itself runs on those;
2. lock exactly the missing pins with the index's hashes (`uv pip compile --no-deps
   --generate-hashes`), then install them hash-checked with `--no-deps --target site/`;
3. copy the template's files, run its setup code (cwd `data/`, `$TEMPLATE_DATA`), check that its
   preload list imports, and switch the template's `current` build atomically.

Why an overlay and not a separate virtual environment per template (measured on the shared
2-core machine, warm uv cache): `benchmarks/templates.py` builds a two-package template from a
local index in 1.25 s (0.5 s of it installing with bytecode compiled), where a separate venv
with the worker's own dependencies takes 8.4 s (48x a bare `uv pip install --target`); with
`faker` from PyPI the overlay holds 14 MB, a separate venv 648 MB (hard links from the uv
cache; with a cold cache a 635 MB download). A separate venv also cannot be built from an
index holding only the extra packages (an offline mirror, the tests' local index), and it may
resolve another IPython or numpy: exactly what breaks the worker. The overlay cannot: base
packages are never replaced, and the zygote imports them from the same files as the server.
The price: a template cannot pin another version of a package the server already has (the
build names the conflict).

Only wheels are ever used (`--only-binary :all:`), so nothing from the index runs at install
time; the setup code is the admin's own, run at build time on the server (never in a session).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sandbox_analyst.sandbox.templates.base_env import base_fingerprint
from sandbox_analyst.sandbox.templates.builds import (
    BUILD_FORMAT,
    BuildInfo,
    BuildStore,
    LockedPackage,
    TemplateBuild,
)
from sandbox_analyst.sandbox.templates.errors import (
    PackageConflict,
    PackageError,
    TemplateBuildError,
)
from sandbox_analyst.sandbox.templates.spec import DATA_PLACEHOLDER, TemplateSpec
from sandbox_analyst.sandbox.templates.uv_runner import Pin, UvRunner

BUILD_STEPS = ("resolve", "lock", "install", "files", "setup", "check", "activate")
_LOG_TAIL = 2000

ProgressCallback = Callable[[str, int, int], None]
"""Called with (step, index, total) as each step of `BUILD_STEPS` starts."""


@dataclass(frozen=True)
class BuildOutcome:
    build: TemplateBuild
    rebuilt: bool
    """False when the current build already matched the spec and the base environment."""
    collected: tuple[str, ...] = ()
    """Old build ids deleted because nobody used them any more."""


class TemplateBuilder:
    def __init__(self, store: BuildStore, uv: UvRunner) -> None:
        self.store = store
        self.uv = uv

    def spec_hash(self, spec: TemplateSpec) -> str:
        """Identifies everything a build depends on: the spec, its files' contents, the base
        environment, the index and the build format."""
        digest = hashlib.sha256()
        content = {
            "format": BUILD_FORMAT,
            "spec": spec.canonical(),
            "base": base_fingerprint(),
            "index": self.uv.index.describe(),
        }
        digest.update(json.dumps(content, sort_keys=True).encode())
        base = spec.base_dir
        for item in spec.files:
            if base is not None:
                _hash_tree(digest, base / item.source)
        return digest.hexdigest()

    def build(
        self,
        spec: TemplateSpec,
        *,
        force: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> BuildOutcome:
        """Build `spec` unless its current build is up to date (or `force`). Old builds stay
        until nobody leases them; a failed build leaves the current one in place."""
        with self.store.locked(spec.name):
            spec_hash = self.spec_hash(spec)
            current = self.store.current(spec.name)
            if current is not None and current.info.spec_hash == spec_hash and not force:
                return BuildOutcome(current, rebuilt=False)
            started = time.perf_counter()
            build_id = _build_id(spec_hash)
            path = self.store.new_build_dir(spec.name, build_id)
            try:
                packages = self._build_into(path, spec, on_progress or _no_progress)
                info = BuildInfo(
                    name=spec.name,
                    build_id=build_id,
                    spec_hash=spec_hash,
                    base_fingerprint=base_fingerprint(),
                    built_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    build_seconds=round(time.perf_counter() - started, 3),
                    packages=packages,
                    index=self.uv.index.describe(),
                    uv_version=self.uv.version,
                )
                _step(on_progress, "activate")
                (path / "build.json").write_text(info.to_json())
                build = TemplateBuild(path, info)
                self.store.publish(build)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            collected = self.store.collect(spec.name)
            return BuildOutcome(build, True, tuple(collected))

    def _build_into(
        self, path: Path, spec: TemplateSpec, on_progress: ProgressCallback
    ) -> tuple[LockedPackage, ...]:
        site, data, files = path / "site", path / "data", path / "files"
        for directory in (site, data, files):
            directory.mkdir()
        (path / "spec.json").write_text(spec.model_dump_json(indent=2) + "\n")
        log = _BuildLog(path / "build.log")
        try:
            missing = self._install_packages(path, spec, on_progress, log)
        except PackageError as exc:
            log.write("error", exc)
            raise
        _step(on_progress, "files")
        _copy_files(spec, files)
        _step(on_progress, "setup")
        environment = _build_environment(spec, site, data)
        if spec.setup:
            _run_python(spec.setup, "setup code", data, environment, spec.setup_timeout, log)
        _step(on_progress, "check")
        if spec.preload:
            check = f"import importlib\nfor name in {spec.preload!r}: importlib.import_module(name)"
            _run_python(check, "preload check", data, environment, 300.0, log)
        return tuple(LockedPackage(pin.name, pin.version) for pin in missing)

    def _install_packages(
        self, path: Path, spec: TemplateSpec, on_progress: ProgressCallback, log: _BuildLog
    ) -> tuple[Pin, ...]:
        _step(on_progress, "resolve")
        resolution = self.uv.resolve(spec.packages)
        if resolution.replaced:
            conflicts = ", ".join(
                f"{wanted.requirement()} (the server has {old.version})"
                for old, wanted in resolution.replaced
            )
            raise PackageConflict(
                f"template {spec.name!r} needs other versions of packages the server's "
                f"environment provides: {conflicts}; a template may add packages, never replace "
                "the server's (loosen the pins, or upgrade the server's environment)"
            )
        _step(on_progress, "lock")
        lock_file = path / "lock.txt"
        log.write("lock", self.uv.lock(resolution.missing, lock_file) or "(nothing to add)")
        _step(on_progress, "install")
        if resolution.missing:
            log.write("install", self.uv.install_locked(lock_file, path / "site"))
        return resolution.missing


class _BuildLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, step: str, text: object) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(f"--- {step}\n{text}\n")


def _no_progress(step: str, index: int, total: int) -> None:
    pass


def _step(on_progress: ProgressCallback | None, step: str) -> None:
    if on_progress is not None:
        on_progress(step, BUILD_STEPS.index(step), len(BUILD_STEPS))


def _build_id(spec_hash: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{spec_hash[:12]}-{os.urandom(2).hex()}"


def _hash_tree(digest: hashlib._Hash, source: Path) -> None:
    paths = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in paths:
        digest.update(str(path.relative_to(source.parent)).encode() + b"\0")
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)


def _copy_files(spec: TemplateSpec, target_root: Path) -> None:
    base = spec.base_dir
    for item in spec.files:
        if base is None:
            continue
        source = base / item.source
        target = target_root / item.destination
        if not source.exists():
            raise TemplateBuildError(f"template {spec.name!r}: file {source} no longer exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=False, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)


def _build_environment(spec: TemplateSpec, site: Path, data: Path) -> dict[str, str]:
    """What the setup code and the import check run with: the overlay first on the import path,
    no server secrets."""
    environment = {
        "PATH": f"{site / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(data),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        DATA_PLACEHOLDER[2:-1]: str(data),
    }
    environment.update(spec.environment(data))
    return environment


def _run_python(
    code: str,
    what: str,
    cwd: Path,
    environment: dict[str, str],
    timeout: float,
    log: _BuildLog,
) -> None:
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        log.write(what, f"timed out after {timeout:.0f} s")
        raise TemplateBuildError(f"the template's {what} ran past {timeout:.0f} s") from exc
    output = (result.stdout + result.stderr).strip()
    log.write(what, output or "(no output)")
    if result.returncode != 0:
        raise TemplateBuildError(
            f"the template's {what} failed (exit code {result.returncode}): "
            f"{output[-_LOG_TAIL:] or 'no output'}"
        )
