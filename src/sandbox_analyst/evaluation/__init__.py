"""Evaluation: run a suite of questions with known answers through the real service, once or
many times, with one or more assistants, and say how often each answered right.

A front end's package, above the service: `analyst eval` (cli/eval_cmd.py) loads a suite
(`load_suite`), runs it (`Evaluation`) and prints the `EvalReport`. The starter suite, on
datasets that ship inside scikit-learn and statsmodels, is built by `starter`.
"""

from sandbox_analyst.evaluation.answer import Answer, ArtifactFile
from sandbox_analyst.evaluation.assistants import (
    DEFAULT_ASSISTANT_NAME,
    assistant_info,
    default_assistant,
    find_assistant,
)
from sandbox_analyst.evaluation.checks import CHECK_TYPES, Check, CheckResult
from sandbox_analyst.evaluation.errors import SuiteError
from sandbox_analyst.evaluation.interval import wilson_interval
from sandbox_analyst.evaluation.results import (
    JSON_FORMAT,
    AssistantInfo,
    AssistantReport,
    EvalReport,
    RunResult,
    Summary,
)
from sandbox_analyst.evaluation.runner import Evaluation, PlannedRun
from sandbox_analyst.evaluation.suite import DEFAULT_INSTRUCTION, Case, Suite
from sandbox_analyst.evaluation.suite_file import load_suite
from sandbox_analyst.evaluation.tagged_values import parse_number, tagged_values

__all__ = [
    "CHECK_TYPES",
    "DEFAULT_ASSISTANT_NAME",
    "DEFAULT_INSTRUCTION",
    "JSON_FORMAT",
    "Answer",
    "ArtifactFile",
    "AssistantInfo",
    "AssistantReport",
    "Case",
    "Check",
    "CheckResult",
    "EvalReport",
    "Evaluation",
    "PlannedRun",
    "RunResult",
    "Suite",
    "SuiteError",
    "Summary",
    "assistant_info",
    "default_assistant",
    "find_assistant",
    "load_suite",
    "parse_number",
    "tagged_values",
    "wilson_interval",
]
