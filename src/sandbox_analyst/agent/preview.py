"""Previews of data files (CSV, TSV, Excel, Parquet, JSON), computed inside the sandbox with
pandas: the files live there, and so does the code that will read them later.

A quick preview (for the system prompt) reads a few rows; a full one (the `preview_file` tool)
reads the whole file for its shape and missing values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.telemetry.context import executions_for

DATA_EXTENSIONS = (".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet", ".json", ".jsonl")
_MAX_COLUMNS_LISTED = 60

# Runs in the sandbox in a namespace of its own, so the user's variables stay untouched.
# `REQUEST` = {"paths": [...], "rows": int, "full": bool}; prints one JSON list.
_SANDBOX_SOURCE = r"""
import csv, json, os
import pandas as pd


def delimiter(path):
    if path.lower().endswith(".tsv"):
        return "\t"
    with open(path, newline="", errors="replace") as handle:
        sample = handle.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def load(path, rows, full):
    extension = os.path.splitext(path)[1].lower()
    info = {}
    limit = None if full else rows
    if extension in (".csv", ".tsv", ".txt"):
        frame = pd.read_csv(path, sep=delimiter(path), nrows=limit)
    elif extension in (".xlsx", ".xlsm", ".xls"):
        book = pd.ExcelFile(path)
        info["sheets"] = [str(name) for name in book.sheet_names]
        frame = book.parse(book.sheet_names[0], nrows=limit)
    elif extension == ".parquet":
        import pyarrow.parquet as pq
        source = pq.ParquetFile(path)
        info["rows"] = source.metadata.num_rows
        if full or source.metadata.num_rows == 0:
            frame = source.read().to_pandas()
        else:
            frame = next(source.iter_batches(batch_size=rows)).to_pandas()
    elif extension in (".json", ".jsonl", ".ndjson"):
        lines = extension != ".json"
        try:
            frame = pd.read_json(path, lines=lines)
        except ValueError:
            frame = pd.read_json(path, lines=not lines)
    else:
        raise ValueError("not a format this preview reads (csv, tsv, xlsx, parquet, json)")
    if full:
        info["rows"] = len(frame)
        info["missing"] = {str(k): int(v) for k, v in frame.isna().sum().items() if v}
    return frame, info


previews = []
for path in REQUEST["paths"]:
    try:
        frame, info = load(path, REQUEST["rows"], REQUEST["full"])
        head = frame.head(REQUEST["rows"]).to_string(max_cols=20, max_colwidth=40)
        columns = [[str(name), str(dtype)] for name, dtype in frame.dtypes.items()]
        previews.append({"path": path, "columns": columns, "head": head, **info})
    except Exception as exc:
        previews.append({"path": path, "error": f"{type(exc).__name__}: {exc}"})
print(json.dumps(previews))
"""


class PreviewError(Exception):
    """The preview code itself could not run in the sandbox."""


@dataclass
class FilePreview:
    path: str
    full: bool
    columns: list[tuple[str, str]] = field(default_factory=list)
    head: str = ""
    rows: int | None = None
    sheets: list[str] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def render(self) -> str:
        if self.error is not None:
            return f"{self.path}: could not be read as a table ({self.error})"
        rows = f"{self.rows:,} rows" if self.rows is not None else "rows not counted"
        lines = [f"{self.path}: {rows} x {len(self.columns)} columns"]
        if self.sheets:
            lines.append(f"sheets: {', '.join(self.sheets)} (the first one is shown)")
        shown = self.columns[:_MAX_COLUMNS_LISTED]
        listed = ", ".join(f"{name} ({dtype})" for name, dtype in shown)
        if len(self.columns) > _MAX_COLUMNS_LISTED:
            listed += f", ... and {len(self.columns) - _MAX_COLUMNS_LISTED} more"
        dtype_origin = "" if self.full else ", dtypes guessed from the first rows"
        lines.append(f"columns (dtype{dtype_origin}): {listed}")
        if self.full:
            missing = ", ".join(f"{name}: {count:,}" for name, count in self.missing.items())
            lines.append(f"missing values: {missing or 'none'}")
        lines.append("first rows:")
        lines.append(self.head)
        return "\n".join(lines)


def is_data_file(path: str) -> bool:
    return path.lower().endswith(DATA_EXTENSIONS)


async def preview_files(
    sandbox: Sandbox, paths: list[str], *, full: bool, rows: int = 5, timeout: float = 60.0
) -> list[FilePreview]:
    """One preview per path, computed in one sandbox execution."""
    request = {"paths": paths, "rows": rows, "full": full}
    code = f"exec({_SANDBOX_SOURCE!r}, {{'REQUEST': {request!r}}})"
    with executions_for("preview"):
        execution = await sandbox.run_code(code, timeout=timeout)
    if execution.error is not None:
        raise PreviewError(f"{execution.error.name}: {execution.error.value}")
    try:
        raw = json.loads("".join(execution.logs.stdout))
    except json.JSONDecodeError as exc:
        raise PreviewError(f"the preview printed something unexpected: {exc}") from exc
    return [
        FilePreview(
            path=item["path"],
            full=full,
            columns=[(name, dtype) for name, dtype in item.get("columns", [])],
            head=item.get("head", ""),
            rows=item.get("rows"),
            sheets=item.get("sheets", []),
            missing=item.get("missing", {}),
            error=item.get("error"),
        )
        for item in raw
    ]
