"""A suite: cases (a question, input files, checks) and what every case shares (the instruction
appended to each question, the time a case may take). Read from YAML by `load_suite`
(suite_file.py); see docs/evaluation.md for the format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from sandbox_analyst.evaluation.checks import Check, NumericCheck

FILES_CONTEXT = "files_dir"
CaseId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]

# How a model learns the `@name[value]` convention: appended to each question that has numeric
# checks, `{answers}` replaced by the names it asks for ("@mean_age[value], @count[value]").
DEFAULT_INSTRUCTION = (
    "When you have the result, end your answer with a line that states each requested value "
    "in the form @name[value] - a plain number, without units or thousands separators - "
    "for: {answers}"
)


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: CaseId
    question: str = Field(min_length=1, max_length=20_000)
    files: list[str] = Field(default_factory=list, max_length=20)
    checks: list[Check] = Field(min_length=1)
    timeout_s: float | None = Field(None, gt=0, le=24 * 3600)

    @field_validator("files")
    @classmethod
    def _files_exist(cls, names: list[str], info: ValidationInfo) -> list[str]:
        directory: Path | None = (info.context or {}).get(FILES_CONTEXT)
        if directory is None:
            return names
        for name in names:
            if not (directory / name).is_file():
                raise ValueError(f"no input file {name!r} in {directory}")
        return names

    @property
    def answer_names(self) -> list[str]:
        return [check.name for check in self.checks if isinstance(check, NumericCheck)]


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    instruction: str = Field(DEFAULT_INSTRUCTION, max_length=4_000)
    timeout_s: float = Field(600.0, gt=0, le=24 * 3600, description="Seconds a case may take.")
    files_dir: str = Field(".", description="Where the input files are, from the suite file.")
    references: str | None = Field(None, description="A JSON or YAML file of reference values.")
    cases: list[Case] = Field(min_length=1)
    # Set by `load_suite`: the suite's file, and the directory its cases' `files` are in.
    _path: Path | None = PrivateAttr(default=None)
    _directory: Path = PrivateAttr(default_factory=Path.cwd)

    @field_validator("cases")
    @classmethod
    def _unique_ids(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in cases:
            if case.id in seen:
                raise ValueError(f"two cases have the id {case.id!r}")
            seen.add(case.id)
        return cases

    def prompt(self, case: Case) -> str:
        """The question as the model gets it: with the instruction when it checks numbers."""
        names = case.answer_names
        if not names or not self.instruction.strip():
            return case.question
        answers = ", ".join(f"@{name}[value]" for name in names)
        return f"{case.question.rstrip()}\n\n{self.instruction.replace('{answers}', answers)}"

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def directory(self) -> Path:
        return self._directory

    def located(self, path: Path) -> Suite:
        """This suite as read from `path`: its files are looked up from there."""
        self._path = path
        self._directory = path.parent / self.files_dir
        return self

    def file_path(self, name: str) -> Path:
        return self._directory / name

    def timeout_of(self, case: Case) -> float:
        return case.timeout_s if case.timeout_s is not None else self.timeout_s

    def selected(self, ids: list[str]) -> list[Case]:
        """The cases named by `ids` (all when empty), in the suite's order; KeyError names
        an unknown one."""
        if not ids:
            return list(self.cases)
        known = {case.id for case in self.cases}
        unknown = [case_id for case_id in ids if case_id not in known]
        if unknown:
            raise KeyError(", ".join(unknown))
        return [case for case in self.cases if case.id in ids]
