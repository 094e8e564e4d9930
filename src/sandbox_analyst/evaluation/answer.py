"""What a case's checks look at: one finished turn's final text, how many tools it called, and
the charts and files its code made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

# Files an `output_file` check can read as a table, by extension.
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".parquet", ".xlsx", ".xls"})


@dataclass(frozen=True)
class ArtifactFile:
    """A chart or file the turn's code produced. `data`: its bytes, fetched for the files an
    `output_file` check can read (tables) and None for the others."""

    name: str
    media_type: str
    size: int
    data: bytes | None = None

    @property
    def is_chart(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def is_table(self) -> bool:
        return PurePath(self.name).suffix.lower() in TABLE_SUFFIXES


@dataclass(frozen=True)
class Answer:
    text: str
    tool_calls: int
    artifacts: list[ArtifactFile] = field(default_factory=list)

    @property
    def charts(self) -> list[ArtifactFile]:
        return [artifact for artifact in self.artifacts if artifact.is_chart]
