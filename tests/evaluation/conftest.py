"""Evaluations on real services: a fresh database per test, the session's shared sandbox
backend, and the scripted fake model behind the real OpenAI SDK adapter. Tests that run cases
run on the session's event loop: `pytestmark = pytest.mark.asyncio(loop_scope="session")`."""

from __future__ import annotations

import re
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.config import Settings
from sandbox_analyst.evaluation import Suite, load_suite
from sandbox_analyst.sandbox import SessionManager
from sandbox_analyst.service import Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.fixtures.models import fake_llm_settings
from tests.fixtures.sandboxes import CHAT_SANDBOX

SALES_CSV = "month,sales\nJan,10\nFeb,14\nMar,9\n"


@pytest.fixture
def eval_settings(tmp_path: Path, database_url: str, fake: FakeLLMServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        sandbox=CHAT_SANDBOX,
        llm=fake_llm_settings(fake, max_retries=0),
    )


@pytest_asyncio.fixture(loop_scope="session")
async def eval_services(
    eval_settings: Settings, sandbox_sessions: SessionManager
) -> AsyncIterator[Services]:
    services = Services.from_settings(eval_settings, sessions=sandbox_sessions)
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def admin(eval_services: Services) -> Principal:
    return await eval_services.users.ensure_local_admin()


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
