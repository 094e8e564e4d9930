"""How `analyst eval` shows an evaluation: a progress bar while it runs, then per assistant
(its name and model) a table of the cases and their totals, and why each failed run failed."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sandbox_analyst.evaluation import AssistantReport, EvalReport, PlannedRun, RunResult, Summary

DETAIL_CHARS = 300


class EvalProgress:
    """A bar over every run; the line above it names the run going on and the last outcome."""

    def __init__(self, console: Console, total: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("passed {task.fields[passed]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID = self.progress.add_task("evaluating", total=total, passed=0)
        self._passed = 0

    def __enter__(self) -> EvalProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def on_run(self, planned: PlannedRun, result: RunResult | None) -> None:
        label = f"{planned.assistant.name}: {planned.case.id} #{planned.repeat}"
        if result is None:
            self.progress.update(self._task, description=escape(label))
            return
        self._passed += result.passed
        self.progress.update(self._task, advance=1, passed=self._passed)
        if not result.passed:
            self.progress.console.print(
                f"[yellow]✗[/yellow] {escape(label)}: {escape(', '.join(result.reasons))}"
            )


def print_report(console: Console, report: EvalReport) -> None:
    for assistant in report.assistants:
        console.print(_table(report, assistant))
        failures = assistant.summary.failures
        if failures:
            counts = ", ".join(f"{reason} ×{count}" for reason, count in failures.items())
            console.print(f"[bold]Failures by reason:[/bold] {escape(counts)}", highlight=False)
        _print_failures(console, assistant)


def rate(summary: Summary) -> str:
    """`67% (21–94)`: the pass rate and its 95% interval, in percent."""
    low, high = summary.interval
    return f"{summary.pass_rate:.0%} ({low * 100:.0f}–{high * 100:.0f})"


def _table(report: EvalReport, assistant: AssistantReport) -> Table:
    table = Table(
        title=f"{escape(assistant.assistant.title)} — suite {escape(report.suite)}",
        caption="pass rate (its 95% Wilson interval); turns, tool calls, tokens and wall "
        "time: medians over the runs",
    )
    table.add_column("case", overflow="fold")
    for heading in ("passed", "pass rate", "turns", "tools", "tokens", "wall s"):
        table.add_column(heading, justify="right", no_wrap=True)
    for case_id in assistant.case_ids:
        _row(table, escape(case_id), assistant.case_summary(case_id))
    table.add_section()
    _row(table, "[bold]all[/bold]", assistant.summary)
    return table


def _row(table: Table, label: str, summary: Summary) -> None:
    style = "green" if summary.passed == summary.runs else "yellow" if summary.passed else "red"
    table.add_row(
        label,
        f"[{style}]{summary.passed}/{summary.runs}[/{style}]",
        rate(summary),
        f"{summary.median_turns:g}",
        f"{summary.median_tool_calls:g}",
        f"{summary.median_tokens:,.0f}",
        f"{summary.median_wall_s:.1f}",
    )


def _print_failures(console: Console, assistant: AssistantReport) -> None:
    failed = [run for run in assistant.ordered_runs() if not run.passed]
    if not failed:
        return
    console.print("[bold]Why runs failed[/bold]")
    for run in failed:
        details = [f"{c.label}: {c.detail}" for c in run.failed_checks]
        if run.error:
            details.append(run.error)
        text = "; ".join(details) or ", ".join(run.reasons)
        if len(text) > DETAIL_CHARS:
            text = text[:DETAIL_CHARS] + "…"
        console.print(
            f"  {escape(run.case)} #{run.repeat} ({escape(', '.join(run.reasons))}): "
            f"{escape(text)}",
            highlight=False,
            soft_wrap=True,  # one line per run, whole: to read, grep or copy
        )
