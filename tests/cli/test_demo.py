"""`analyst demo`: the whole stack (embedded server, agent loop, real sandbox, storage) answers
the scripted questions about the shipped dataset; the report quotes what the code really
computed, embeds the real charts and says that the model's turns were replayed.

The demo runs once for the module (it starts a sandbox pool); each test checks one promise.
The expected figures are computed here, independently, from the shipped dataset."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.cli import demo as demo_command
from sandbox_analyst.demo import DemoFailed, demo_dataset_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class DemoRun:
    exit_code: int
    output: str
    output_dir: Path

    @property
    def words(self) -> str:
        """The terminal output without panel borders and line wrapping."""
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", self.output).split())

    @property
    def report(self) -> str:
        return (self.output_dir / "demo-report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    base = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANALYST_SANDBOX__POOL_SIZE", "1")
        patch.chdir(base)  # no analyst.yaml from the developer's directory
        result = CliRunner().invoke(
            app, ["demo", "--output", str(base / "out"), "--data-dir", str(base / "data")]
        )
    return DemoRun(result.exit_code, result.output, base / "out")


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(demo_dataset_bytes()), parse_dates=["date"])
    frame["revenue"] = frame["revenue"].fillna(frame["units"] * frame["unit_price"])
    return frame


def test_it_runs_to_the_end_and_says_the_model_is_replayed(demo: DemoRun) -> None:
    assert demo.exit_code == 0, demo.output
    assert "scripted model" in demo.words
    assert "no LLM is called" in demo.words
    assert "question 4 of 4" in demo.words
    assert str((demo.output_dir / "demo-report.html").resolve()) in demo.output
    assert "replayed from a script" in demo.report


def test_the_answers_quote_what_the_code_computed(demo: DemoRun, sales: pd.DataFrame) -> None:
    yearly = sales.groupby(sales["date"].dt.year)["revenue"].sum()
    assert f"**{yearly[2023]:,.0f}** in 2023" in demo.words
    assert f"<strong>{yearly[2023]:,.0f}</strong> in 2023" in demo.report
    assert f"<strong>{yearly[2024]:,.0f}</strong> in 2024" in demo.report
    assert f"<strong>{yearly[2024] / yearly[2023] - 1:+.1%}</strong>" in demo.report
    assert f"<strong>{len(sales):,} rows</strong>" in demo.report
    growth = yearly[2024] - yearly[2023]
    assert f"<strong>{growth:,.0f}</strong> more revenue" in demo.report


def test_a_failing_cell_is_corrected_in_the_next_step(demo: DemoRun) -> None:
    failed = demo.report.index("Step 1: execute_code — failed")
    assert "AttributeError: Can only use .dt accessor" in demo.report[failed:]
    assert demo.report.index("Step 2: execute_code — ok") > failed


def test_the_report_embeds_the_real_charts_and_loads_nothing(demo: DemoRun) -> None:
    charts = re.findall(r'<img src="data:image/png;base64,([^"]+)"', demo.report)
    assert len(charts) >= 2
    assert all(base64.b64decode(chart).startswith(PNG_SIGNATURE) for chart in charts)
    assert "<script" not in demo.report
    assert re.findall(r'(?:src|href)="(?!data:)', demo.report) == []
    saved = sorted(path.name for path in demo.output_dir.glob("*.png"))
    assert saved == ["figure-1.png", "figure-2.png"]  # numbered across the conversation
    assert (demo.output_dir / "figure-1.png").read_bytes().startswith(PNG_SIGNATURE)


def test_the_csv_the_code_wrote_holds_the_monthly_totals(
    demo: DemoRun, sales: pd.DataFrame
) -> None:
    summary = pd.read_csv(demo.output_dir / "monthly_summary.csv")
    expected = sales.groupby(sales["date"].dt.to_period("M"))["revenue"].sum()
    assert list(summary["month"]) == [str(month) for month in expected.index]
    assert summary["revenue_total"].round(2).tolist() == expected.round(2).tolist()
    assert 'download="monthly_summary.csv"' in demo.report


def test_a_failing_demo_exits_non_zero_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_run(*args: object, **kwargs: object) -> None:
        raise DemoFailed("question 2: the code printed no 'Revenue 2024' line")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_command, "run_demo", broken_run)
    result = CliRunner().invoke(app, ["demo", "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "the demo failed: question 2: the code printed no 'Revenue 2024' line" in " ".join(
        result.output.split()
    )
    assert not (tmp_path / "out").exists()
