"""`analyst demo`: a complete analysis of a shipped dataset through the real stack (server,
agent loop, sandbox, storage) with a scripted model, ending in a self-contained HTML report.
The report renderer works for any conversation."""

from sandbox_analyst.demo.dataset import (
    DEMO_DATASET_COLUMNS,
    DEMO_DATASET_NAME,
    copy_demo_dataset,
    demo_dataset_bytes,
)
from sandbox_analyst.demo.markdown import render_markdown
from sandbox_analyst.demo.report import ReportFile, render_report
from sandbox_analyst.demo.runner import (
    REPORT_NAME,
    DemoFailed,
    DemoObserver,
    DemoResult,
    run_demo,
)
from sandbox_analyst.demo.script import REPLAY_NOTICE, DemoScript, ScriptMismatch

__all__ = [
    "DEMO_DATASET_COLUMNS",
    "DEMO_DATASET_NAME",
    "REPLAY_NOTICE",
    "REPORT_NAME",
    "DemoFailed",
    "DemoObserver",
    "DemoResult",
    "DemoScript",
    "ReportFile",
    "ScriptMismatch",
    "copy_demo_dataset",
    "demo_dataset_bytes",
    "render_markdown",
    "render_report",
    "run_demo",
]
