"""LibreChat's own code tools (`@librechat/agents`' execute_code and bash, pinned in
js/package-lock.json) against our server on 127.0.0.1: node runs js/scenarios.mjs with
LIBRECHAT_CODE_BASEURL = <server>/librechat/v1, as LibreChat is configured, and these tests
check what the tools returned (the text the model reads, and the artifact LibreChat keeps).

`scripts/test` installs the package (`npm ci`); outside CI, a machine without node or without
it skips these tests, in CI it fails them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import node_scenarios as scenarios
from tests.api.librechat.conftest import BASE, Keys, SigningKey

pytestmark = pytest.mark.asyncio(loop_scope="session")

JS_DIR = Path(__file__).parent / "js"


async def run_scenario(name: str, live_url: str, **env: str) -> dict[str, Any]:
    return await scenarios.run_scenario(
        JS_DIR, "@librechat/agents", name, {"LIBRECHAT_CODE_BASEURL": live_url + BASE, **env}
    )


SUMMARY = (
    "Generated files:\nSession files: 2 persisted file(s) are available in /mnt/data, "
    "including 1 image(s)."
)


async def test_an_analysis_of_an_upload_its_chart_and_later_calls_on_its_files(
    live_url: str, keys: Keys
) -> None:
    seen = await run_scenario("analysis", live_url, LIBRECHAT_CODE_API_KEY=keys.alice)
    assert seen["firstContent"].startswith("stdout:\ntotal 12\n")
    assert SUMMARY in seen["firstContent"]
    assert seen["firstFiles"] == ["chart.png", "summary.csv"]
    assert seen["sessionIdLength"] == 21
    assert seen["chart"] == {"status": 200, "type": "image/png", "magic": True}
    # A later call (bash) sees the upload and both files of the first call.
    assert seen["bashContent"] == "stdout:\nchart.png\nsales.csv\nsummary.csv"
    assert seen["secondContent"] == "stdout:\n3.0"
    assert "NameError" in seen["failedContent"]
    assert "stderr:" in seen["failedContent"]


async def test_the_stateful_profile_keeps_variables_between_calls(
    live_url: str, keys: Keys
) -> None:
    seen = await run_scenario("stateful", live_url, LIBRECHAT_CODE_API_KEY=keys.alice)
    assert seen["firstStatus"] == "new"
    assert seen["secondStatus"] == "reused"
    assert seen["sameRuntime"] is True
    assert seen["secondContent"] == "stdout:\n3 6"
    assert "NameError" in seen["statelessContent"]


async def test_the_tool_runs_with_librechats_jwt(
    live_url: str, keys: Keys, signing_key: SigningKey
) -> None:
    seen = await run_scenario("analysis", live_url, LIBRECHAT_CODE_JWT=signing_key.token())
    assert seen["firstFiles"] == ["chart.png", "summary.csv"]
    assert seen["chart"]["magic"] is True


async def test_a_wrong_key_is_reported_as_not_authorized(live_url: str, keys: Keys) -> None:
    seen = await run_scenario("unauthorized", live_url)
    assert "Code execution is not authorized" in seen["error"]
