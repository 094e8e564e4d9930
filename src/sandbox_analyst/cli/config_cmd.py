"""`analyst config`: print the effective settings, secrets masked."""

from __future__ import annotations

import yaml

from sandbox_analyst.cli.app import app, console, settings


@app.command("config")
def show_config() -> None:
    """Print the effective settings (defaults < analyst.yaml < ANALYST_* environment)."""
    console.print(yaml.safe_dump(settings().masked(), sort_keys=False).rstrip())
