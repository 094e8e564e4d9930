"""The comparison behind `analyst rerun`: an exported cell's outputs read back, a fresh
execution's put in the same shape, and the two compared (text exactly once memory addresses
are normalised; images by size, then by the share of pixels that differ; files by name;
errors by name); input files checked against the sha256 the notebook names. The rerun itself,
in a real sandbox, is tested through the CLI (tests/cli/test_rerun.py)."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook, new_output
from PIL import Image, ImageDraw

from sandbox_analyst.sandbox import Execution, ExecutionError, Logs, Result
from sandbox_analyst.service import (
    CellOutputs,
    actual_outputs,
    check_inputs,
    compare,
    expected_outputs,
    image_difference,
    normalised,
    template_of,
)


def png(size: tuple[int, int] = (40, 30), dots: int = 0) -> bytes:
    """A white image with `dots` black pixels."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for dot in range(dots):
        draw.point((dot % size[0], dot // size[0]), fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def exported_cell() -> object:
    chart = png()
    return new_code_cell(
        source="print(df)",
        execution_count=1,
        outputs=[
            new_output("stream", name="stdout", text="<object at 0x7f00aa>\n"),
            new_output("stream", name="stderr", text="a warning\n"),
            new_output("display_data", data={"text/plain": "   a\n0  1", "text/html": "<t/>"}),
            new_output(
                "display_data",
                data={
                    "image/png": base64.b64encode(chart).decode(),
                    "text/plain": "figure-1.png (1,234 bytes)",
                },
            ),
            new_output("display_data", data={"text/plain": "saved file: out.csv (12 bytes)"}),
            new_output("display_data", data={"text/plain": "saved file: figure-2.svg (9 bytes)"}),
            new_output("error", ename="KeyError", evalue="'x'", traceback=["..."]),
        ],
    )


def fresh(**changes: object) -> CellOutputs:
    outputs = CellOutputs(
        stdout="<object at 0x55ee01>\n",
        stderr="a warning\n",
        texts=["   a\n0  1"],
        files=["out.csv"],
        error="KeyError",
    )
    outputs.images = [expected_outputs(exported_cell()).images[0]]
    for name, value in changes.items():
        setattr(outputs, name, value)
    return outputs


def test_an_exported_cell_is_read_back_part_by_part() -> None:
    outputs = expected_outputs(exported_cell())

    assert outputs.stdout == "<object at 0x7f00aa>\n"
    assert outputs.stderr == "a warning\n"
    assert outputs.texts == ["   a\n0  1"]
    assert [(image.media_type, image.name) for image in outputs.images] == [("image/png", None)]
    assert outputs.images[0].data == png()
    assert outputs.files == ["out.csv"]  # a vector figure is not compared
    assert outputs.error == "KeyError"


def test_the_same_outputs_match_whatever_their_memory_addresses() -> None:
    assert normalised("at 0x7f3a12 and 0xDEAD") == "at 0x... and 0x..."
    assert compare(expected_outputs(exported_cell()), fresh()) == ("match", "")


def test_each_kind_of_difference_is_named() -> None:
    expected = expected_outputs(exported_cell())

    cases = {
        "stdout: line 1": fresh(stdout="other\n"),
        "stderr: 1 lines expected, got 0": fresh(stderr=""),
        "result 1: line 2": fresh(texts=["   a\n0  2"]),
        "1 results expected, got 0": fresh(texts=[]),
        "files written: out.csv expected, got none": fresh(files=[]),
        "error KeyError expected, got ValueError": fresh(error="ValueError"),
        "1 images expected, got 0": fresh(images=[]),
    }
    for detail, actual in cases.items():
        status, said = compare(expected, actual)
        assert status == "differs", detail
        assert detail in said


def test_an_error_where_the_notebook_has_none_is_an_error() -> None:
    expected = expected_outputs(new_code_cell(source="x", outputs=[]))

    status, detail = compare(expected, CellOutputs(error="NameError", error_value="x"))

    assert status == "error"
    assert detail == "raised NameError: x"


def test_images_match_by_size_and_a_pixel_tolerance() -> None:
    assert image_difference(png(), png()) is None
    assert image_difference(png(), png(dots=10)) is None  # 10 of 1,200 pixels: under 1%
    assert image_difference(png(), png(dots=10), tolerance=0.001) == (
        "0.8% of the pixels differ (tolerance 0.1%)"
    )
    assert image_difference(png(), png(dots=120)) == "10.0% of the pixels differ (tolerance 1.0%)"
    assert image_difference(png(), png((41, 30))) == "size 40x30 expected, got 41x30"
    assert (image_difference(png(), b"not an image") or "").startswith("cannot be decoded")


async def test_a_fresh_execution_takes_the_exports_shape() -> None:
    chart = base64.b64encode(png()).decode()
    execution = Execution(
        results=[
            Result(text="   a\n0  1", html="<t/>"),
            Result(text="<Figure>", png=chart),
            Result(svg="<svg/>"),
            Result(json={"only": "json"}),
        ],
        logs=Logs(stdout=["<object at ", "0x55ee01>\n"], stderr=["a warning\n"]),
        error=ExecutionError("KeyError", "'x'", ""),
    )

    outputs = await actual_outputs(None, execution, ["out.csv"])  # type: ignore[arg-type]

    assert compare(expected_outputs(exported_cell()), outputs) == ("match", "")


def test_input_files_are_checked_against_the_notebooks_sha256(tmp_path: Path) -> None:
    data = b"month,sales\nJan,10\n"
    notebook = new_notebook(
        metadata={
            "sandbox_analyst": {
                "template": {"name": "default", "packages": {}},
                "input_files": [
                    {"name": "sales.csv", "sha256": hashlib.sha256(data).hexdigest()},
                    {"name": "costs.csv", "sha256": "0" * 64},
                    {"name": "other.csv", "sha256": "1" * 64},
                ],
            }
        }
    )
    (tmp_path / "sales.csv").write_bytes(data)
    (tmp_path / "costs.csv").write_bytes(b"changed")
    (tmp_path / "extra.csv").write_bytes(b"x")

    checks = check_inputs(notebook, [tmp_path / n for n in ("sales.csv", "costs.csv", "extra.csv")])

    assert template_of(notebook) == "default"
    assert template_of(new_notebook()) is None
    assert [(check.name, check.status) for check in checks] == [
        ("sales.csv", "ok"),
        ("costs.csv", "mismatch"),
        ("other.csv", "missing"),
        ("extra.csv", "unexpected"),
    ]
    assert checks[1].actual_sha256 == hashlib.sha256(b"changed").hexdigest()
