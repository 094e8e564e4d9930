"""The text a tool call sends back to the model: one layout, bounded size."""

from __future__ import annotations

import re

from sandbox_analyst.agent import ArtifactRef
from sandbox_analyst.agent.artifacts import SkippedFile
from sandbox_analyst.agent.observation import Observation, result_text, share_budget, truncate
from sandbox_analyst.sandbox import Result

SECTIONS = ["success", "stdout", "stderr", "error", "results", "files", "notes"]
CHART = ArtifactRef("f1", "figure-1.png", "/api/files/f1/content", "image/png", 2048)


def section_headers(text: str) -> list[str]:
    return re.findall(r"^(success|stdout|stderr|error|results|files|notes):", text, re.M)


def test_success_and_failure_have_the_same_sections_in_the_same_order() -> None:
    success = Observation(success=True, stdout="42\n", results=["Out: 42"], artifacts=[CHART])
    failure = Observation(
        success=False,
        stderr="warning\n",
        error={"name": "KeyError", "value": "'x'", "traceback": "frame\nKeyError: 'x'"},
        notes=["change approach"],
    )
    assert section_headers(success.render(1000)) == SECTIONS
    assert section_headers(failure.render(1000)) == SECTIONS
    assert section_headers(Observation(success=True).render(1000)) == SECTIONS


def test_rendered_sections() -> None:
    observation = Observation(
        success=False,
        stdout="hello\n",
        error={"name": "ValueError", "value": "bad", "traceback": "line 1\nValueError: bad"},
        artifacts=[CHART],
        skipped=[SkippedFile("big.bin", "too big")],
        notes=["try again differently"],
    )
    assert observation.render(1000) == (
        "success: false\n"
        "stdout:\nhello\n"
        "stderr:\n(empty)\n"
        "error:\nValueError: bad\ntraceback (last lines):\nline 1\nValueError: bad\n"
        "results:\n(none)\n"
        "files:\n"
        "- figure-1.png (image/png, 2.0 KB): ![figure-1.png](/api/files/f1/content)\n"
        "- big.bin: not saved (too big)\n"
        "notes:\n- try again differently"
    )


def test_long_traceback_keeps_its_tail() -> None:
    frames = "\n".join(f"frame {n}" for n in range(1000))
    error = {"name": "RecursionError", "value": "too deep", "traceback": frames}
    rendered = Observation(success=False, error=error).render(1000)
    assert "frame 999" in rendered
    assert "frame 1\n" not in rendered
    assert len(rendered) < 2000


def test_truncate_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    text = "A" * 500 + "B" * 500
    cut = truncate(text, 100, "stdout")
    assert cut.startswith("A" * 50)
    assert cut.endswith("B" * 50)
    assert "900 of 1,000 characters of stdout cut here" in cut
    assert truncate("short", 100, "stdout") == "short"


def test_short_sections_keep_everything_and_long_ones_share_the_rest() -> None:
    assert share_budget([10, 5000, 20], 1000) == [10, 970, 20]
    assert share_budget([3000, 5000, 0], 1000) == [500, 500, 0]
    assert share_budget([1, 2, 3], 1000) == [1, 2, 3]


def test_whole_observation_respects_the_limit_roughly() -> None:
    big = Observation(success=True, stdout="x" * 100_000, stderr="y" * 100_000)
    rendered = big.render(3000)
    assert len(rendered) < 3000 + 500  # the limit, plus headers and the cut markers


def test_result_text_views() -> None:
    assert result_text(Result(text="42", is_main_result=True)) == "Out: 42"
    assert result_text(Result(text="<Figure>", png="iVBOR")) is None
    assert result_text(Result(markdown="# Title", text="Title")) == "# Title"
    assert result_text(Result(json={"k": 1})) == '{"k": 1}'
    html_only = result_text(Result(html="<b>x</b>"))
    assert html_only == "(HTML output of 8 characters; print() it for text)"


def test_markdown_embeds_images_and_links_other_files() -> None:
    table = ArtifactRef("f2", "table.csv", "/api/files/f2/content", "text/csv", 10)
    assert CHART.markdown == "![figure-1.png](/api/files/f1/content)"
    assert table.markdown == "[table.csv](/api/files/f2/content)"
