"""The `analyst` command line. Each sub-command lives in a module of its own and registers
itself on `app`; `app` imports a sub-command's module only when that command runs (see
`cli.app.COMMAND_MODULES`), so a quick command starts quickly."""

from __future__ import annotations

from sandbox_analyst.cli.app import app, main

__all__ = ["app", "main"]
