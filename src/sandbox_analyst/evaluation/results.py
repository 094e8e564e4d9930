"""What an evaluation found: one `RunResult` per case run, summed up per case and per
assistant (`Summary`: pass rate with its Wilson 95% interval, medians of turns, tool calls,
tokens and wall time, failures by reason), and the JSON document of a whole evaluation.

Reasons a run fails: `check_failed:<check>` (a check said no; a run failing two kinds of
check counts under both), `error:<kind>` (the turn failed: `llm_error`, `internal_error`,
`max_iterations`, a refused upload's code...; a crash of the run itself is
`error:internal_error` too) and `timeout` (the case ran out of its time, or the turn of its
own)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox_analyst.evaluation.checks import CheckResult
from sandbox_analyst.evaluation.interval import wilson_interval

JSON_FORMAT = "sandbox-analyst-eval/1"
TIMEOUT = "timeout"


def error_reason(kind: str) -> str:
    return f"error:{kind}"


@dataclass(frozen=True)
class AssistantInfo:
    id: str
    name: str
    provider: str
    model: str

    @property
    def title(self) -> str:
        return f"{self.name} · {self.provider}/{self.model}"


@dataclass
class RunResult:
    case: str
    repeat: int  # 1-based
    passed: bool
    reasons: list[str]  # empty when it passed; else each distinct reason, the first the main one
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # what went wrong, for an error or a timeout
    status: str = ""  # the stored turn's status ("complete", "failed", ...), "" if none ran
    turns: int = 0  # model answers the turn received
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    wall_s: float = 0.0
    conversation_id: str | None = None
    answer: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["checks"] = [
            {**asdict(c), "reason": None if c.passed else c.reason} for c in self.checks
        ]
        document["tokens"] = self.tokens
        document["wall_s"] = round(self.wall_s, 3)
        return document


@dataclass(frozen=True)
class Summary:
    runs: int
    passed: int
    pass_rate: float
    interval: tuple[float, float]
    median_turns: float
    median_tool_calls: float
    median_tokens: float
    median_wall_s: float
    failures: dict[str, int]  # reason -> runs that failed for it

    @classmethod
    def of(cls, runs: list[RunResult]) -> Summary:
        passed = sum(1 for run in runs if run.passed)
        failures = Counter(reason for run in runs for reason in run.reasons)
        return cls(
            runs=len(runs),
            passed=passed,
            pass_rate=passed / len(runs) if runs else 0.0,
            interval=wilson_interval(passed, len(runs)),
            median_turns=_median([run.turns for run in runs]),
            median_tool_calls=_median([run.tool_calls for run in runs]),
            median_tokens=_median([run.tokens for run in runs]),
            median_wall_s=_median([run.wall_s for run in runs]),
            failures=dict(failures.most_common()),
        )

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["pass_rate"] = round(self.pass_rate, 4)
        document["interval"] = [round(bound, 4) for bound in self.interval]
        document["median_wall_s"] = round(self.median_wall_s, 3)
        return document


@dataclass
class AssistantReport:
    assistant: AssistantInfo
    case_ids: list[str]  # in the suite's order
    runs: list[RunResult] = field(default_factory=list)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.runs)

    def case_summary(self, case_id: str) -> Summary:
        return Summary.of([run for run in self.runs if run.case == case_id])

    def ordered_runs(self) -> list[RunResult]:
        order = {case_id: index for index, case_id in enumerate(self.case_ids)}
        return sorted(self.runs, key=lambda run: (order.get(run.case, 0), run.repeat))

    def to_json(self) -> dict[str, Any]:
        return {
            "assistant": asdict(self.assistant),
            "summary": self.summary.to_json(),
            "cases": [
                {"id": case_id, **self.case_summary(case_id).to_json()} for case_id in self.case_ids
            ],
            "runs": [run.to_json() for run in self.ordered_runs()],
        }


@dataclass
class EvalReport:
    suite: str
    suite_path: str
    repeat: int
    started_at: str
    finished_at: str = ""
    assistants: list[AssistantReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": JSON_FORMAT,
            "suite": {"name": self.suite, "path": self.suite_path},
            "repeat": self.repeat,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "assistants": [report.to_json() for report in self.assistants],
        }


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
