"""The official E2B JavaScript SDK (`@e2b/code-interpreter`, pinned in js/package-lock.json)
against our server: node runs js/scenarios.mjs with E2B_API_KEY / E2B_API_URL /
E2B_SANDBOX_URL pointing at us, and these tests check what it saw.

`scripts/test` installs the packages (`npm ci`); outside CI, a machine without node or without
them skips these tests, in CI it fails them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import node_scenarios as scenarios
from tests.api.e2b.conftest import E2BUser

pytestmark = pytest.mark.asyncio(loop_scope="session")

JS_DIR = Path(__file__).parent / "js"


async def run_scenario(name: str, user: E2BUser, other: E2BUser | None = None) -> dict[str, Any]:
    env = dict(user.env)
    if other is not None:
        env["OTHER_E2B_API_KEY"] = other.api_key
    return await scenarios.run_scenario(JS_DIR, "@e2b/code-interpreter", name, env)


async def test_lifecycle(alice: E2BUser) -> None:
    seen = await run_scenario("lifecycle", alice)
    assert seen == {
        "text": "2",
        "templateId": "code-interpreter-v1",
        "metadata": {"purpose": "js"},
        "listed": True,
        "running": True,
        "kept": "yes",
        "killed": True,
        "runningAfterKill": False,
        "listedAfterKill": False,
    }


async def test_a_data_analysis_returns_a_chart_once(alice: E2BUser) -> None:
    seen = await run_scenario("analysis", alice)
    assert seen == {
        "stdout": "rows 3\n",
        "pngCount": 1,
        "pngMagic": True,
        "mainHtml": True,
        "state": "42",
        "errorName": "KeyError",
        "errorValue": "'missing'",
        "tracebackMentionsF": True,
    }


async def test_files_in_and_out(alice: E2BUser) -> None:
    seen = await run_scenario("files", alice)
    assert seen == {
        "read": "from js",
        "bytesLength": 7,
        "madeDir": True,
        "names": ["in.txt:file", "sub:dir"],
        "movedExists": True,
        "removedExists": False,
        "codeError": None,
        "madeByCode": "by python",
        "outsideRefused": True,
    }


async def test_commands(alice: E2BUser) -> None:
    seen = await run_scenario("commands", alice)
    assert seen == {"stdout": "note js\n", "exitCode": 5, "killed": True}


async def test_bash_and_env_vars(alice: E2BUser) -> None:
    seen = await run_scenario("languages", alice)
    assert seen["bash"].splitlines()[0] == "sandbox/now"
    assert seen["pythonOnce"] is None


async def test_contexts(alice: E2BUser) -> None:
    seen = await run_scenario("contexts", alice)
    assert seen == {
        "fresh": "False",
        "defaultKept": "default",
        "listed": True,
        "afterRestart": "False",
        "listedAfterRemove": False,
    }


async def test_another_users_key_is_refused(alice: E2BUser, bob: E2BUser) -> None:
    seen = await run_scenario("isolation", alice, other=bob)
    assert seen["connectRefused"] is True, seen
    assert seen["otherKilled"] is False
    assert seen["visibleToOther"] is False
    assert seen["stillRuns"] == "alive"


async def test_an_expired_sandbox(alice: E2BUser) -> None:
    seen = await run_scenario("expired", alice)
    assert seen["running"] is False
    assert seen["run"] is not None
    assert "sandbox" in seen["run"]["message"].lower()
    assert seen["connect"] is not None
