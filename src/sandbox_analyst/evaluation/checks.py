"""A case's checks: each a small model read from the suite file (`type` says which) that
judges one finished turn's `Answer`.

- `numeric`: the answer states `@name[value]` within a tolerance of the expected value
  (absolute `abs`, relative `rel`: either suffices; default `rel: 0.001`).
- `contains` / `not_contains`: a text must (not) appear in the answer (case-insensitive unless
  `case_sensitive`).
- `min_charts`: the code made at least `count` charts.
- `output_file`: the code wrote a table (CSV, TSV, Parquet, Excel), named like `name` (a glob,
  optional), with at least these `columns` (or exactly these, with `exact`).
- `max_tool_calls`: the turn called tools at most `count` times.
"""

from __future__ import annotations

import fnmatch
import io
import math
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox_analyst.evaluation.answer import Answer, ArtifactFile
from sandbox_analyst.evaluation.references import ExpectedNumber, ExpectedText
from sandbox_analyst.evaluation.tagged_values import parse_number, tagged_values

AnswerName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


@dataclass(frozen=True)
class CheckResult:
    check: str  # its type: the failure reason is `check_failed:<check>`
    label: str  # which one, for people: "numeric @mean_petal_length"
    passed: bool
    detail: str  # why it failed (expected and actual), or what it saw

    @property
    def reason(self) -> str:
        return f"check_failed:{self.check}"


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def label(self) -> str:
        return str(self.type)  # type: ignore[attr-defined]

    def _result(self, passed: bool, detail: str) -> CheckResult:
        return CheckResult(self.type, self.label, passed, detail)  # type: ignore[attr-defined]


class Tolerance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    absolute: float | None = Field(None, alias="abs", ge=0)
    relative: float | None = Field(None, alias="rel", ge=0)

    def allows(self, expected: float, actual: float) -> bool:
        absolute = self.absolute if self.absolute is not None else 0.0
        relative = self.relative if self.relative is not None else 0.0
        if self.absolute is None and self.relative is None:
            relative = 1e-3
        error = abs(actual - expected)
        return error <= absolute or error <= relative * abs(expected)

    def describe(self) -> str:
        parts = []
        if self.absolute is not None:
            parts.append(f"±{self.absolute:g}")
        if self.relative is not None or self.absolute is None:
            parts.append(f"±{(self.relative if self.relative is not None else 1e-3) * 100:g}%")
        return " or ".join(parts)


class NumericCheck(_Check):
    type: Literal["numeric"]
    name: AnswerName
    expected: ExpectedNumber
    tolerance: Tolerance = Tolerance()

    @model_validator(mode="after")
    def _finite(self) -> NumericCheck:
        if not math.isfinite(self.expected):
            raise ValueError(f"the expected value of @{self.name} is not a finite number")
        return self

    @property
    def label(self) -> str:
        return f"numeric @{self.name}"

    def evaluate(self, answer: Answer) -> CheckResult:
        wanted = f"@{self.name}[{self.expected:g}] ({self.tolerance.describe()})"
        stated = tagged_values(answer.text).get(self.name)
        if stated is None:
            return self._result(False, f"expected {wanted}, but the answer has no @{self.name}[…]")
        actual = parse_number(stated)
        if actual is None:
            return self._result(False, f"expected {wanted}, got {stated!r}: not a number")
        if not self.tolerance.allows(self.expected, actual):
            return self._result(False, f"expected {wanted}, got {actual:g}")
        return self._result(True, f"got {actual:g}, expected {wanted}")


class _TextCheck(_Check):
    text: ExpectedText = Field(min_length=1)
    case_sensitive: bool = False

    def _found(self, answer: Answer) -> bool:
        if self.case_sensitive:
            return self.text in answer.text
        return self.text.casefold() in answer.text.casefold()

    @property
    def label(self) -> str:
        return f"{self.type} {self.text!r}"  # type: ignore[attr-defined]


class ContainsCheck(_TextCheck):
    type: Literal["contains"]

    def evaluate(self, answer: Answer) -> CheckResult:
        if self._found(answer):
            return self._result(True, f"the answer says {self.text!r}")
        return self._result(False, f"the answer does not say {self.text!r}")


class NotContainsCheck(_TextCheck):
    type: Literal["not_contains"]

    def evaluate(self, answer: Answer) -> CheckResult:
        if self._found(answer):
            return self._result(False, f"the answer says {self.text!r}, which it must not")
        return self._result(True, f"the answer does not say {self.text!r}")


class MinChartsCheck(_Check):
    type: Literal["min_charts"]
    count: int = Field(1, ge=1)

    @property
    def label(self) -> str:
        return f"min_charts {self.count}"

    def evaluate(self, answer: Answer) -> CheckResult:
        made = len(answer.charts)
        detail = f"expected at least {self.count} chart(s), got {made}"
        return self._result(made >= self.count, detail)


class MaxToolCallsCheck(_Check):
    type: Literal["max_tool_calls"]
    count: int = Field(ge=0)

    @property
    def label(self) -> str:
        return f"max_tool_calls {self.count}"

    def evaluate(self, answer: Answer) -> CheckResult:
        detail = f"expected at most {self.count} tool call(s), got {answer.tool_calls}"
        return self._result(answer.tool_calls <= self.count, detail)


class OutputFileCheck(_Check):
    type: Literal["output_file"]
    name: str | None = Field(None, min_length=1, max_length=255)  # a glob: "*.csv"
    columns: list[str] = Field(min_length=1)
    exact: bool = False  # the table has these columns and no others

    @property
    def label(self) -> str:
        return f"output_file {self.name or '(any table)'}"

    def evaluate(self, answer: Answer) -> CheckResult:
        candidates = [a for a in answer.artifacts if a.is_table and self._named(a)]
        if not candidates:
            made = ", ".join(a.name for a in answer.artifacts) or "none"
            wanted = f"named {self.name}" if self.name else "(CSV, TSV, Parquet or Excel)"
            return self._result(False, f"expected a table file {wanted}; files made: {made}")
        seen = []
        for artifact in candidates:
            columns = _columns(artifact)
            if columns is None:
                seen.append(f"{artifact.name}: not readable as a table")
                continue
            if self._fits(columns):
                return self._result(True, f"{artifact.name} has columns {columns}")
            seen.append(f"{artifact.name} has columns {columns}")
        wanted = "exactly" if self.exact else "at least"
        return self._result(False, f"expected {wanted} columns {self.columns}; " + "; ".join(seen))

    def _named(self, artifact: ArtifactFile) -> bool:
        return self.name is None or fnmatch.fnmatch(artifact.name, self.name)

    def _fits(self, columns: list[str]) -> bool:
        if self.exact:
            return sorted(columns) == sorted(self.columns)
        return set(self.columns) <= set(columns)


def _columns(artifact: ArtifactFile) -> list[str] | None:
    """The column names of a table file, or None when it cannot be read as one."""
    if artifact.data is None:
        return None
    suffix = PurePath(artifact.name).suffix.lower()
    source = io.BytesIO(artifact.data)
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(source)
        elif suffix in (".xlsx", ".xls"):
            frame = pd.read_excel(source, nrows=0)
        else:
            frame = pd.read_csv(source, sep="\t" if suffix == ".tsv" else ",", nrows=0)
    except Exception:  # pandas raises many kinds for a file that is no table
        return None
    return [str(column).strip() for column in frame.columns]


Check = Annotated[
    NumericCheck
    | ContainsCheck
    | NotContainsCheck
    | MinChartsCheck
    | MaxToolCallsCheck
    | OutputFileCheck,
    Field(discriminator="type"),
]
CHECK_TYPES = ("numeric", "contains", "not_contains", "min_charts", "output_file", "max_tool_calls")
