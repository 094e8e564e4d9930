"""Running an npm client's scenario script (`js/scenarios.mjs` next to a test module) with node:
how the tests drive our server with official JavaScript clients (E2B's SDK, LibreChat's code
tools), each pinned by its own package-lock.json and installed by `scripts/test`.

Outside CI, a machine without node or without the package skips those tests; in CI it fails
them, so that a missing install step cannot pass unseen."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest


def node_for(js_dir: Path, package: str) -> str:
    """The `node` to run `js_dir`'s scripts with, once `package` is installed there."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (js_dir / "node_modules" / package).is_dir():
        reason = f"{package} is not installed: run `npm ci` in {js_dir}"
    if reason is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the {package} tests must run in CI, but {reason}", pytrace=False)
        pytest.skip(reason)
    assert node is not None
    return node


async def run_scenario(
    js_dir: Path, package: str, name: str, env: Mapping[str, str]
) -> dict[str, Any]:
    """Run `scenarios.mjs NAME` in `js_dir`; its last line of output is the JSON it saw."""
    process = await asyncio.create_subprocess_exec(
        node_for(js_dir, package),
        "scenarios.mjs",
        name,
        cwd=js_dir,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return json.loads(stdout.decode().strip().splitlines()[-1])
