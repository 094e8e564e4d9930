"""`analyst exec` against a plain `jupyter kernelgateway` (the gateway backend, chosen and
configured by environment variables only): a file is copied in, pandas reads it, the output
streams back, and an error in the code exits 1 with its traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from tests.sandbox.gateway.gateway_process import GatewayProcess

CSV = "month,sales\nJan,10\nFeb,14\nMar,9\n"


@pytest.fixture
def gateway_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    gateway = GatewayProcess(tmp_path / "gateway")
    asyncio.run(gateway.start())
    try:
        for name, value in {
            "ANALYST_DATA_DIR": str(tmp_path / "data"),
            "ANALYST_SANDBOX__BACKEND": "gateway",
            "ANALYST_SANDBOX__GATEWAY__URL": gateway.url,
            "ANALYST_SANDBOX__GATEWAY__TOKEN": gateway.token,
        }.items():
            monkeypatch.setenv(name, value)
        work = tmp_path / "work"
        work.mkdir()
        (work / "data.csv").write_text(CSV)
        monkeypatch.chdir(work)
        yield work
    finally:
        asyncio.run(gateway.stop())


def test_exec_reads_a_file_with_pandas_on_a_kernel_gateway(gateway_workdir: Path) -> None:
    code = "import pandas as pd\ndf = pd.read_csv('data.csv')\nprint('total', df.sales.sum())"
    result = CliRunner().invoke(app, ["exec", "--file", "data.csv", code])
    assert result.exit_code == 0, result.output
    assert "total 33" in result.stdout

    failed = CliRunner().invoke(app, ["exec", "--file", "data.csv", "1 / 0"])
    assert failed.exit_code == 1, failed.output
    assert "ZeroDivisionError" in failed.output
