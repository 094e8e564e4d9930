"""Directories of packages installed into a session after its worker was forked."""

from __future__ import annotations

import importlib
import os
import sys


def add_import_path(path: str) -> None:
    """Make packages installed into `path` importable: last on sys.path (below the template's
    and the server's packages, which it never replaces), and on PYTHONPATH for the Python
    processes the code starts."""
    if path not in sys.path:
        sys.path.append(path)
    importlib.invalidate_caches()
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if path not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([*paths, path])
