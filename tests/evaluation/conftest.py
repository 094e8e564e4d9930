"""Evaluations on real services (`model_services`, tests/fixtures/services.py): a suite file
written by the test, and the scripted fake model answering its cases."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest_asyncio

from sandbox_analyst.evaluation import Suite, load_suite
from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import Turn, last_tool_result

SALES_CSV = "month,sales\nJan,10\nFeb,14\nMar,9\n"


@pytest_asyncio.fixture(loop_scope="session")
async def admin(model_services: Services) -> Principal:
    return await model_services.users.ensure_local_admin()


def write_suite(directory: Path, yaml_text: str, files: dict[str, str] | None = None) -> Path:
    """A suite file (and its input files) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (files if files is not None else {"sales.csv": SALES_CSV}).items():
        (directory / name).write_text(content)
    path = directory / "suite.yaml"
    path.write_text(textwrap.dedent(yaml_text))
    return path


def sales_suite(directory: Path, checks: str, *, extra: str = "") -> Suite:
    """One case about sales.csv with `checks` (a YAML list), and `extra` suite fields."""
    case = textwrap.dedent(
        """\
        cases:
          - id: total-sales
            question: What were the total sales?
            files: [sales.csv]
            checks:
        """
    )
    text = "name: sales\n" + textwrap.dedent(extra) + case
    return load_suite(
        write_suite(directory, text + textwrap.indent(textwrap.dedent(checks), "      "))
    )


def printed_value(body: dict) -> str:
    """What the last code run printed after `VALUE=`."""
    match = re.search(r"VALUE=\s*(\S+)", last_tool_result(body) or "")
    return match.group(1) if match else "?"


def answering(code: str, answer: str) -> list[object]:
    """A model that runs `code` (which prints `VALUE= x`), then answers `answer` with `{value}`
    replaced by what it printed."""
    return [
        Turn(tool_calls=[("execute_code", {"code": code})]),
        lambda body: Turn(text=answer.replace("{value}", printed_value(body))),
    ]


TOTAL_CODE = "import pandas as pd\nprint('VALUE=', pd.read_csv('sales.csv').sales.sum())"
