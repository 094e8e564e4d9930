"""Running uv (the `uv` package's binary) against the configured package index, on the server.

Every call resolves and installs wheels only (`--only-binary :all:`: an sdist would run its
build code on the server), ignores the operator's own uv configuration (`--no-config`, no
`UV_*` variables: the settings decide the index) and turns uv's failures into the specific
errors of `templates.errors`.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uv
from packaging.utils import canonicalize_name

from sandbox_analyst.sandbox.templates.errors import (
    IndexUnreachable,
    NoWheelAvailable,
    PackageConflict,
    PackageError,
    PackageNotFound,
)

DEFAULT_INDEX = "https://pypi.org/simple"
_UNREACHABLE = (
    "Failed to fetch",
    "error sending request",
    "Could not connect",
    "dns error",
    "tcp connect error",
    "operation timed out",
)
_NO_WHEEL = ("has no usable wheels", "has no wheels with a matching", "building from source is")
_NOT_FOUND = ("was not found in the package registry", "there is no version of")


@dataclass(frozen=True)
class PackageIndex:
    """Where packages come from: a simple (PEP 503) index, extra ones, find-links pages or
    directories. `url=None` means no index, only `find_links`."""

    url: str | None = DEFAULT_INDEX
    extra_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        return ((self.url,) if self.url else ()) + self.extra_urls

    def uv_args(self) -> list[str]:
        args = ["--index-url", self.url] if self.url else ["--no-index"]
        for url in self.extra_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args

    def describe(self) -> str:
        return ", ".join((*self.urls, *self.find_links)) or "(no index)"


@dataclass(frozen=True)
class Pin:
    name: str
    """Canonical (PEP 503) name."""
    version: str

    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Resolution:
    """What installing the requirements on top of the base environment would change."""

    missing: tuple[Pin, ...]
    """Packages the base lacks: what an overlay must hold."""
    replaced: tuple[tuple[Pin, Pin], ...]
    """(installed, wanted) pairs: the requirements need another version of a base package."""


class UvRunner:
    """uv bound to one interpreter (the sandbox's: the server's own), one index, one cache."""

    def __init__(
        self,
        index: PackageIndex,
        *,
        cache_dir: Path | None = None,
        python: str = sys.executable,
        timeout: float = 900.0,
    ) -> None:
        self.index = index
        self.cache_dir = cache_dir
        self.python = python
        self.timeout = timeout
        self.binary = uv.find_uv_bin()

    @functools.cached_property
    def version(self) -> str:
        result = subprocess.run(
            [self.binary, "--version"], capture_output=True, text=True, check=True, timeout=30
        )
        return result.stdout.split()[1]

    def resolve(self, requirements: Sequence[str]) -> Resolution:
        """Resolve `requirements` against the base environment, installing nothing."""
        if not requirements:
            return Resolution((), ())
        result = self._run(
            [
                "pip", "install", "--dry-run", "--output-format", "json",
                "--python", self.python, "--only-binary", ":all:", *self.index.uv_args(),
                *requirements,
            ]
        )  # fmt: skip
        added: dict[str, str] = {}
        removed: dict[str, str] = {}
        for change in json.loads(result.stdout).get("changes", []):
            side = removed if change["action"] == "uninstalled" else added
            side[canonicalize_name(change["name"])] = change["version"]
        missing = tuple(
            Pin(name, version) for name, version in sorted(added.items()) if name not in removed
        )
        replaced = tuple(
            (Pin(name, old), Pin(name, added.get(name, "?")))
            for name, old in sorted(removed.items())
        )
        return Resolution(missing, replaced)

    def lock(self, pins: Sequence[Pin], output: Path) -> str:
        """Write a requirements lock with the index's hashes of exactly `pins` (no deps)."""
        source = output.with_suffix(".in")
        source.write_text("".join(f"{pin.requirement()}\n" for pin in pins))
        self._run(
            [
                "pip", "compile", "--quiet", "--no-deps", "--generate-hashes", "--no-header",
                "--no-annotate", "--only-binary", ":all:", "--python", self.python,
                *self.index.uv_args(), str(source), "--output-file", str(output),
            ]
        )  # fmt: skip
        source.unlink()
        return output.read_text()

    def install_locked(self, lock: Path, target: Path) -> str:
        """Install exactly the locked, hash-checked wheels into `target` (an overlay)."""
        return self._install(["--require-hashes", *self.index.uv_args(), "-r", str(lock)], target)

    def install_files(self, wheels: Sequence[Path], target: Path) -> str:
        """Install wheel files already on disk into `target`, without touching any index."""
        return self._install(["--offline", "--no-index", *map(str, wheels)], target)

    def _install(self, args: list[str], target: Path) -> str:
        result = self._run(
            [
                "pip", "install", "--no-deps", "--only-binary", ":all:", "--compile-bytecode",
                "--python", self.python, "--target", str(target), *args,
            ]
        )  # fmt: skip
        return result.stderr

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                [self.binary, *args, "--no-config", "--no-progress", "--color", "never"],
                capture_output=True,
                text=True,
                env=self._environment(),
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise IndexUnreachable(
                f"uv did not finish within {self.timeout:.0f} s (index {self.index.describe()})"
            ) from exc
        if result.returncode != 0:
            raise _classify(result.stderr, self.index)
        return result

    def _environment(self) -> dict[str, str]:
        # Proxies and certificates stay (the server may need them to reach the index); uv's
        # own variables go, so that only the settings choose the index and the options.
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("UV_") or k == "UV_CACHE_DIR"
        }
        environment.update(
            {
                "UV_PYTHON_DOWNLOADS": "never",
                "UV_HTTP_RETRIES": "1",
                "UV_NO_PROGRESS": "1",
                "NO_COLOR": "1",
            }
        )
        if self.cache_dir is not None:
            environment["UV_CACHE_DIR"] = str(self.cache_dir)
        return environment


def _classify(stderr: str, index: PackageIndex) -> PackageError:
    message = _summary(stderr)
    if any(marker in stderr for marker in _UNREACHABLE):
        return IndexUnreachable(f"package index {index.describe()} unreachable: {message}")
    if any(marker in stderr for marker in _NO_WHEEL):
        return NoWheelAvailable(f"no wheel available (sdists are never built): {message}")
    if any(marker in stderr for marker in _NOT_FOUND):
        return PackageNotFound(message)
    if "No solution found" in stderr:
        return PackageConflict(message)
    return PackageError(f"uv failed: {message}")


def _summary(stderr: str) -> str:
    """uv's explanation without its boilerplate (`error:`/`cause:` prefixes, hints)."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    kept = [
        line.removeprefix("error: ").removeprefix("cause: ")
        for line in lines
        if not line.startswith(("Resolved ", "Using ", "Would ", "hint:"))
    ]
    return " ".join(kept) or "(no message)"
