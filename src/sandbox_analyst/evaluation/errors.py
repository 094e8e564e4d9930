"""What goes wrong before a suite can run: the file is no suite, or names what is not there."""

from __future__ import annotations

from pathlib import Path


class SuiteError(ValueError):
    """A suite file that cannot be used; `problems` say where (line, case, field) and why."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"{self.path}:{self.problems[0]}"
        return f"{self.path}: the suite is not valid:\n" + "\n".join(
            f"  {self.path}:{problem}" for problem in self.problems
        )
