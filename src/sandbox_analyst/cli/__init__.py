"""The `analyst` command line. Each sub-command lives in a module of its own and registers
itself on `app`; this module only wires them together."""

from __future__ import annotations

from sandbox_analyst.cli import (
    chat,  # noqa: F401  (registers commands)
    config_cmd,  # noqa: F401  (registers commands)
    demo,  # noqa: F401  (registers commands)
    doctor,  # noqa: F401  (registers commands)
    exec_cmd,  # noqa: F401  (registers commands)
    keys,  # noqa: F401  (registers commands)
    packages,  # noqa: F401  (registers commands)
    serve,  # noqa: F401  (registers commands)
    templates,  # noqa: F401  (registers commands)
    users,  # noqa: F401  (registers commands)
)
from sandbox_analyst.cli.app import app, main

__all__ = ["app", "main"]
