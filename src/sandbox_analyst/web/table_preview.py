"""The first rows of an uploaded text file (CSV, TSV, JSON lines, JSON, plain text), read from
its first bytes only, for the page's file preview.

Parsed here with the standard library rather than in a sandbox: only a bounded head of the file
is read and nothing in it is executed. Binary formats (Excel, Parquet) are left to the sandbox,
which is where pandas reads untrusted files; for those the preview says it has no rows.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Literal

HEAD_BYTES = 64 * 1024
MAX_COLUMNS = 50
MAX_CELL_CHARS = 200

PreviewFormat = Literal["table", "text", "none"]
_DELIMITED = {"text/csv": None, "text/tab-separated-values": "\t"}


@dataclass
class TablePreview:
    format: PreviewFormat
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    text: str = ""
    truncated: bool = False  # more rows (or columns) exist than are shown
    note: str = ""


def preview_head(head: bytes, *, media_type: str, complete: bool, rows: int) -> TablePreview:
    """A preview from `head`, the first bytes of a file of `media_type`; `complete` says
    whether `head` is the whole file."""
    if media_type not in (*_DELIMITED, "application/x-ndjson", "application/json", "text/plain"):
        return TablePreview("none", note="no preview for this format; the analyst can read it")
    text = head.decode("utf-8-sig", errors="replace")
    if not complete:
        # The last line may be cut in the middle.
        text = text[: text.rfind("\n") + 1] if "\n" in text else ""
    if media_type in _DELIMITED:
        return _delimited(text, _DELIMITED[media_type], rows, complete=complete)
    if media_type == "application/x-ndjson":
        return _json_lines(text, rows, complete=complete)
    if media_type == "application/json" and complete:
        return _json_document(text, rows)
    lines = text.splitlines()
    return TablePreview(
        "text", text="\n".join(lines[:rows]), truncated=len(lines) > rows or not complete
    )


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _table(columns: list[str], records: list[list[str]], more: bool) -> TablePreview:
    wide = len(columns) > MAX_COLUMNS
    return TablePreview(
        "table",
        columns=[_cell(c) for c in columns[:MAX_COLUMNS]],
        rows=[[_cell(v) for v in record[:MAX_COLUMNS]] for record in records],
        truncated=more or wide,
        note=f"first {MAX_COLUMNS} of {len(columns)} columns" if wide else "",
    )


def _delimited(text: str, delimiter: str | None, rows: int, *, complete: bool) -> TablePreview:
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, [])
        records = []
        for record in reader:
            if len(records) == rows:
                return _table(header, records, more=True)
            records.append(record)
    except csv.Error as exc:
        return TablePreview("none", note=f"could not be read as a table: {exc}")
    return _table(header, records, more=not complete)


def _json_lines(text: str, rows: int, *, complete: bool) -> TablePreview:
    objects = []
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines[:rows]:
        try:
            objects.append(json.loads(line))
        except ValueError:
            break
    return _records(objects, more=len(lines) > rows or not complete)


def _json_document(text: str, rows: int) -> TablePreview:
    try:
        document = json.loads(text)
    except ValueError as exc:
        return TablePreview("none", note=f"not valid JSON: {exc}")
    if isinstance(document, list):
        return _records(document[:rows], more=len(document) > rows)
    pretty = json.dumps(document, indent=2, ensure_ascii=False).splitlines()
    return TablePreview("text", text="\n".join(pretty[:rows]), truncated=len(pretty) > rows)


def _records(objects: list[object], *, more: bool) -> TablePreview:
    if not all(isinstance(item, dict) for item in objects):
        return TablePreview("table", columns=["value"], rows=[[_cell(i)] for i in objects])
    columns: list[str] = []
    for item in objects:
        assert isinstance(item, dict)
        columns += [str(key) for key in item if str(key) not in columns]
    records = [
        [_cell(item.get(name, "")) for name in columns]
        for item in objects
        if isinstance(item, dict)
    ]
    return _table(columns, records, more=more)
