"""The examples of docs/sdk.md, run as a user runs them: each a script in a process of its
own, configured by the environment only (the tests' data directory and pool settings)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\n```python\n(?P<code>.*?)```", re.S)
EXPECTED = {
    "pattern": ["best month: 2", "0 ['4', 'stage=test']"],
    "streaming": ["step 0", "step 1", "step 2", "tick 1", "tick 2", "tick 3"],
    "sync": ["42", "hello"],
}


def examples() -> dict[str, str]:
    return {match["name"]: match["code"] for match in _EXAMPLE.finditer(DOC.read_text())}


def test_every_example_is_tested() -> None:
    assert set(examples()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_example_prints_what_the_guide_says(
    name: str, sdk_environment: Path, tmp_path: Path
) -> None:
    script = tmp_path / f"{name}.py"
    script.write_text(examples()[name])
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for expected in EXPECTED[name]:
        assert expected in lines, done.stdout
    if name == "pattern":
        assert re.fullmatch(r"\d+\.\d s CPU, peak \d+ MiB", lines[-1]), lines[-1]
