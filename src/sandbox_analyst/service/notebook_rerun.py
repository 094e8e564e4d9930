"""Re-running an exported notebook (`service.notebooks`) in a fresh sandbox and telling, cell by
cell, whether the outputs are the ones it holds: what `analyst rerun` reports.

The input files are checked first against the sha256 the notebook's metadata names. Then each
code cell runs in order, and its outputs are put in the shape the export gives them, to be
compared part by part:

- stdout and stderr, and the text of rich results (tables, values), exactly, once memory
  addresses (`0x7f3a...`) are normalised: they differ from one process to the next;
- charts and images the code wrote, in order, by decoded size and then pixel by pixel: the
  share of pixels that differ (in any channel, by more than a little) must not exceed the
  tolerance;
- other files the code wrote, by name;
- an error, by its name (`KeyError`): its message and traceback may name paths and lines.

A cell "matches", "differs", or is an "error": it raised where the notebook holds no error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sandbox_analyst.agent.artifacts import WorkdirSnapshot, media_type_for
from sandbox_analyst.sandbox import Execution, Sandbox, split_cell
from sandbox_analyst.service.notebooks import MAX_EMBEDDED_IMAGE_BYTES

if TYPE_CHECKING:
    from nbformat import NotebookNode

CellStatus = Literal["match", "differs", "error"]
InputStatus = Literal["ok", "mismatch", "missing", "unexpected"]
# The share of an image's pixels that may differ (0.01: one pixel in a hundred).
DEFAULT_PIXEL_TOLERANCE = 0.01
# A channel differing by this much or less (of 255) is the same: anti-aliasing, rounding.
PIXEL_THRESHOLD = 16

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
_SAVED_FILE = re.compile(r"^saved file: (.+) \([\d,]+ bytes\)$")
_IMAGE_LABEL = re.compile(r"^(.+) \([\d,]+ bytes\)$")
# Vector figures are stored as files named by their number; the rerun sees them as results.
_VECTOR_FIGURE = re.compile(r"figure-\d+\.svg")


def normalised(text: str) -> str:
    """`text` with its memory addresses made alike."""
    return _ADDRESS.sub("0x...", text)


@dataclass(frozen=True)
class Image:
    media_type: str
    data: bytes
    name: str | None = None  # a file the code wrote; None: a figure it showed


@dataclass
class CellOutputs:
    """One cell's outputs in the form they are compared in."""

    stdout: str = ""
    stderr: str = ""
    texts: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    error: str | None = None  # its name
    error_value: str = ""


@dataclass(frozen=True)
class CellOutcome:
    cell: int  # the code cell's place in the notebook, from 1
    execution_count: int | None
    status: CellStatus
    detail: str = ""


@dataclass(frozen=True)
class InputCheck:
    name: str
    status: InputStatus
    expected_sha256: str | None
    actual_sha256: str | None


@dataclass
class RerunReport:
    template: str
    inputs: list[InputCheck]
    cells: list[CellOutcome]

    @property
    def all_match(self) -> bool:
        return all(cell.status == "match" for cell in self.cells)


# --- what the notebook says ----------------------------------------------------------------


def template_of(notebook: NotebookNode) -> str | None:
    """The template the notebook's sessions ran on (None: a notebook we did not export)."""
    facts = notebook.metadata.get("sandbox_analyst") or {}
    template = facts.get("template") or {}
    name = template.get("name") if isinstance(template, dict) else None
    return name if isinstance(name, str) and name else None


def check_inputs(notebook: NotebookNode, paths: Sequence[Path]) -> list[InputCheck]:
    """The notebook's input files against the given ones (matched by file name): "ok",
    "mismatch" (another sha256), "missing" (named by the notebook, not given), "unexpected"
    (given, not named)."""
    facts = notebook.metadata.get("sandbox_analyst") or {}
    expected = {entry["name"]: entry.get("sha256") for entry in facts.get("input_files") or []}
    given = {path.name: path for path in paths}
    checks = []
    for name, sha256 in expected.items():
        path = given.get(name)
        if path is None:
            checks.append(InputCheck(name, "missing", sha256, None))
            continue
        actual = _sha256(path)
        status: InputStatus = "ok" if sha256 in (None, actual) else "mismatch"
        checks.append(InputCheck(name, status, sha256, actual))
    for name, path in given.items():
        if name not in expected:
            checks.append(InputCheck(name, "unexpected", None, _sha256(path)))
    return checks


def expected_outputs(cell: NotebookNode) -> CellOutputs:
    """A code cell's outputs as the export wrote them."""
    outputs = CellOutputs()
    for output in cell.get("outputs") or []:
        kind = output.get("output_type")
        if kind == "stream":
            text = _joined(output.get("text", ""))
            if output.get("name") == "stderr":
                outputs.stderr += text
            else:
                outputs.stdout += text
        elif kind == "error":
            outputs.error = str(output.get("ename") or "Error")
            outputs.error_value = str(output.get("evalue") or "")
        elif kind in ("display_data", "execute_result"):
            _expected_display(output.get("data") or {}, outputs)
    return outputs


def _expected_display(data: dict[str, Any], outputs: CellOutputs) -> None:
    label = _joined(data.get("text/plain", ""))
    for media_type in _IMAGE_TYPES:
        if media_type in data:
            named = _IMAGE_LABEL.match(label)
            name = named.group(1) if named else None
            if name is not None and name.startswith("figure-"):
                name = None  # a figure the code showed
            outputs.images.append(Image(media_type, _decoded(data[media_type]), name))
            return
    saved = _SAVED_FILE.match(label) if "text/html" not in data else None
    if saved is not None:
        if not _VECTOR_FIGURE.fullmatch(saved.group(1)):
            outputs.files.append(saved.group(1))
        return
    outputs.texts.append(label)


# --- what the fresh sandbox gives ----------------------------------------------------------


async def actual_outputs(
    sandbox: Sandbox, execution: Execution, written: Iterable[str]
) -> CellOutputs:
    """A fresh run's outputs in the export's shape (`written`: the files it wrote)."""
    outputs = CellOutputs(
        stdout="".join(execution.logs.stdout), stderr="".join(execution.logs.stderr)
    )
    for result in execution.results:
        if result.png is not None or result.jpeg is not None:
            media_type = "image/png" if result.png is not None else "image/jpeg"
            encoded = result.png if result.png is not None else result.jpeg
            outputs.images.append(Image(media_type, _decoded(encoded)))
        elif result.svg is not None:
            continue  # stored as a file named by its number; not compared
        elif result.text is not None or result.html is not None:
            outputs.texts.append(result.text or "")
    for path in written:
        media_type = media_type_for(path)
        if media_type in _IMAGE_TYPES:
            data = await sandbox.files.read_bytes(path)
            if len(data) <= MAX_EMBEDDED_IMAGE_BYTES:
                outputs.images.append(Image(media_type, data, posixpath.basename(path)))
                continue
        outputs.files.append(path)
    if execution.error is not None:
        outputs.error = execution.error.name
        outputs.error_value = execution.error.value
    return outputs


# --- the comparison ------------------------------------------------------------------------


def compare(
    expected: CellOutputs, actual: CellOutputs, *, tolerance: float = DEFAULT_PIXEL_TOLERANCE
) -> tuple[CellStatus, str]:
    """Whether a cell's fresh outputs are those the notebook holds, and if not, how not."""
    if actual.error is not None and expected.error is None:
        return "error", f"raised {actual.error}: {_short(actual.error_value)}"
    differences: list[str] = []
    if expected.error != actual.error:
        differences.append(f"error {expected.error} expected, got {actual.error or 'none'}")
    for name in ("stdout", "stderr"):
        difference = _text_difference(getattr(expected, name), getattr(actual, name))
        if difference:
            differences.append(f"{name}: {difference}")
    if len(expected.texts) != len(actual.texts):
        differences.append(f"{len(expected.texts)} results expected, got {len(actual.texts)}")
    else:
        for number, (want, got) in enumerate(zip(expected.texts, actual.texts, strict=True), 1):
            difference = _text_difference(want, got)
            if difference:
                differences.append(f"result {number}: {difference}")
    if len(expected.images) != len(actual.images):
        differences.append(f"{len(expected.images)} images expected, got {len(actual.images)}")
    else:
        for number, (want, got) in enumerate(zip(expected.images, actual.images, strict=True), 1):
            difference = image_difference(want.data, got.data, tolerance=tolerance)
            if difference:
                differences.append(f"image {number}: {difference}")
    if sorted(expected.files) != sorted(actual.files):
        differences.append(
            f"files written: {', '.join(sorted(expected.files)) or 'none'} expected, "
            f"got {', '.join(sorted(actual.files)) or 'none'}"
        )
    if differences:
        return "differs", "; ".join(differences)
    return "match", ""


def image_difference(
    expected: bytes, actual: bytes, *, tolerance: float = DEFAULT_PIXEL_TOLERANCE
) -> str | None:
    """None when the two images match: the same size, and at most `tolerance` of their pixels
    differing by more than `PIXEL_THRESHOLD` in a channel; else what differs."""
    from PIL import Image as Pillow  # matplotlib's own dependency; only needed here
    from PIL import ImageChops, UnidentifiedImageError

    try:
        want = Pillow.open(io.BytesIO(expected))
        got = Pillow.open(io.BytesIO(actual))
        want.load()
        got.load()
    except (UnidentifiedImageError, OSError) as exc:
        return f"cannot be decoded ({exc})"
    if want.size != got.size:
        return f"size {want.width}x{want.height} expected, got {got.width}x{got.height}"
    difference = ImageChops.difference(want.convert("RGBA"), got.convert("RGBA"))
    bands = difference.split()
    largest = bands[0]
    for band in bands[1:]:
        largest = ImageChops.lighter(largest, band)
    differing = largest.point(lambda value: 255 if value > PIXEL_THRESHOLD else 0).histogram()[255]
    share = differing / max(1, want.width * want.height)
    if share > tolerance:
        return f"{share:.1%} of the pixels differ (tolerance {tolerance:.1%})"
    return None


def _text_difference(expected: str, actual: str) -> str | None:
    want, got = normalised(expected), normalised(actual)
    if want == got:
        return None
    want_lines, got_lines = want.splitlines(), got.splitlines()
    for number, (a, b) in enumerate(zip(want_lines, got_lines, strict=False), 1):
        if a != b:
            return f"line {number}: {_short(a)!r} expected, got {_short(b)!r}"
    if len(want_lines) != len(got_lines):
        return f"{len(want_lines)} lines expected, got {len(got_lines)}"
    return "whitespace differs"


# --- the run -------------------------------------------------------------------------------


async def upload_inputs(sandbox: Sandbox, paths: Sequence[Path]) -> None:
    """The given input files into the sandbox's workdir, under their names."""
    for path in paths:
        with path.open("rb") as handle:
            await sandbox.files.write(path.name, handle)


async def rerun_cells(
    notebook: NotebookNode,
    sandbox: Sandbox,
    *,
    timeout: float | None = None,
    tolerance: float = DEFAULT_PIXEL_TOLERANCE,
) -> list[CellOutcome]:
    """Run the notebook's code cells in order in `sandbox` (its inputs already there) and
    compare each one's outputs with the notebook's."""
    outcomes = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells, 1):
        source = _joined(cell.source)
        language, source = split_cell(source)
        before = await WorkdirSnapshot.take(sandbox)
        execution = await sandbox.run_code(source, language=language, timeout=timeout)
        written = (await WorkdirSnapshot.take(sandbox)).changed_since(before)
        actual = await actual_outputs(sandbox, execution, written)
        status, detail = compare(expected_outputs(cell), actual, tolerance=tolerance)
        facts = (cell.get("metadata") or {}).get("sandbox_analyst") or {}
        if status == "differs" and facts.get("output_truncated"):
            detail += " (the notebook holds a truncated output)"
        outcomes.append(CellOutcome(number, cell.get("execution_count"), status, detail))
    return outcomes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _joined(text: str | list[str]) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def _decoded(value: str | list[str]) -> bytes:
    try:
        return base64.b64decode(_joined(value))
    except (binascii.Error, ValueError):
        return b""


def _short(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
