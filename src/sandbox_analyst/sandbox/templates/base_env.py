"""The base environment: the server's own interpreter and site-packages, which every sandbox
runs on. Overlays hold only what it lacks, so a change to it means overlays are rebuilt."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import canonicalize_name


def base_site_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def installed_packages(paths: Iterable[str | Path]) -> dict[str, str]:
    """Canonical name -> version of the distributions found in `paths`."""
    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions(path=[str(p) for p in paths]):
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), distribution.version)
    return found


def base_packages() -> dict[str, str]:
    return installed_packages(base_site_dirs())


_fingerprints: dict[tuple[int, ...], str] = {}


def base_fingerprint() -> str:
    """Changes when the interpreter or any package of the base environment changes."""
    # Installing or removing a distribution adds or removes a *.dist-info entry, which changes
    # the directory's mtime: a cheap key for not reading ~150 METADATA files on every call.
    key = tuple(os.stat(path).st_mtime_ns for path in base_site_dirs())
    cached = _fingerprints.get(key)
    if cached is None:
        lines = [f"python {sys.version} {platform.machine()} {sys.platform}"]
        lines += [f"{name}=={version}" for name, version in sorted(base_packages().items())]
        cached = _fingerprints[key] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return cached
