"""Tool steps as markdown: fences that cannot break, trimmed output, three styles."""

from __future__ import annotations

import pytest

from sandbox_analyst.api.openai_compat.render import (
    FileLink,
    fence,
    files_markdown,
    note,
    step_end,
    step_start,
    trim,
)

CHART = FileLink("figure-1.png", "http://h/api/files/f1/content?sig=1.a", "image/png")
TABLE = FileLink("out.csv", "http://h/api/files/f2/content?sig=1.b", "text/csv")


def test_a_fence_is_longer_than_any_backtick_run_inside() -> None:
    assert fence("print(1)", "python") == "```python\nprint(1)\n```\n"
    assert fence("a ```` b\n") == "`````\na ```` b\n`````\n"


def test_trim_keeps_head_and_tail_and_drops_colour_codes() -> None:
    assert trim("\x1b[31mred\x1b[0m", 100) == "red"
    text = "".join(f"line {n}\n" for n in range(1000))
    trimmed = trim(text, 300)
    assert trimmed.startswith("line 0\nline 1\n")
    assert trimmed.endswith("line 999\n")
    assert f"{len(text) - 300:,} characters not shown" in trimmed
    assert len(trimmed) < 400


@pytest.mark.parametrize(
    ("style", "start", "end"),
    [
        ("markdown", "**Code**\n\n```python\nx = 1\n```\n\n", "*ok in 0.25 s*\n\n"),
        (
            "details",
            "<details>\n<summary>Code</summary>\n\n```python\nx = 1\n```\n\n",
            "*ok in 0.25 s*\n\n</details>\n\n",
        ),
        ("think", "<think>\nCode\n\n```python\nx = 1\n```\n\n", "*ok in 0.25 s*\n\n</think>\n\n"),
    ],
)
def test_a_step_in_each_style(style: str, start: str, end: str) -> None:
    assert step_start(style, "execute_code", "x = 1", {"code": "x = 1"}) == start  # type: ignore[arg-type]
    assert step_end(style, success=True, output="", duration=0.25) == end  # type: ignore[arg-type]


def test_a_step_end_shows_the_trimmed_output_and_links_the_files() -> None:
    end = step_end(
        "markdown",
        success=False,
        output="x" * 5000 + "\nZeroDivisionError: division by zero\n",
        duration=1.5,
        files=[CHART, TABLE],
        output_chars=500,
    )
    assert end.startswith("*failed in 1.50 s*\n\n```text\nxxx")
    assert "ZeroDivisionError: division by zero\n```\n\n" in end
    assert len(end) < 800
    assert end.endswith(f"Files: [figure-1.png]({CHART.url}), [out.csv]({TABLE.url})\n\n")


def test_other_tools_are_named_with_their_arguments() -> None:
    start = step_start("markdown", "preview_file", None, {"path": "sales.csv"})
    assert start == '**`preview_file(path="sales.csv")`**\n\n'


def test_files_show_images_and_link_the_rest() -> None:
    assert files_markdown([CHART, TABLE]) == (
        f"![figure-1.png]({CHART.url})\n\n[out.csv]({TABLE.url})\n"
    )
    assert files_markdown([]) == ""


def test_a_note_is_a_quote() -> None:
    assert (
        note("**Error:** the model is unreachable") == "> **Error:** the model is unreachable\n\n"
    )
