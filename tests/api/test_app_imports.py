"""What building the app imports: a server start pays only for what every request may need.
The MCP SDK waits for the first call to an MCP server, nbformat (and jsonschema beneath it,
whose format checkers take seconds to import) for the first notebook, a database driver for
the first connection of its kind, pyarrow for the first query result written as Parquet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Imported by the features that need them, when they are first used.
ON_FIRST_USE = (
    "mcp",
    "mcp_types",
    "nbformat",
    "jsonschema",
    "psycopg",
    "duckdb",
    "pymysql",
    "pyarrow",
)


def loaded_after(code: str) -> list[str]:
    """Which of ON_FIRST_USE a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([m for m in {ON_FIRST_USE!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_building_the_app_imports_no_sdk_driver_or_library_it_needs_only_on_first_use(
    tmp_path: Path,
) -> None:
    code = (
        "import os\n"
        f"os.environ['ANALYST_DATA_DIR'] = {str(tmp_path)!r}\n"
        "from sandbox_analyst.api import create_app\n"
        "from sandbox_analyst.config import Settings\n"
        "create_app(Settings())"
    )
    assert loaded_after(code) == []
