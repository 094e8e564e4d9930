"""The HTML report of a conversation: self-contained (charts and files embedded, no script, no
outside resource), showing each step's code and output, with everything escaped."""

from __future__ import annotations

import base64
import re
from typing import Any

from sandbox_analyst.demo import ReportFile, render_report
from sandbox_analyst.demo.report import observation_sections

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
HOSTILE = '<script>alert("x")</script>'


def observation(stdout: str = "(empty)", error: str = "(none)", files: str = "(none)") -> str:
    return (
        f"success: {'false' if error != '(none)' else 'true'}\nstdout:\n{stdout}\nstderr:\n"
        f"(empty)\nerror:\n{error}\nresults:\n(none)\nfiles:\n{files}\nnotes:\n(none)"
    )


def conversation(**overrides: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "id": "c_1",
        "title": "Sales",
        "created_at": "2025-01-01T00:00:00Z",
        "messages": [
            {"role": "user", "content": "Chart revenue", "tool_calls": [], "tool_results": []},
            {
                "role": "assistant",
                "status": "complete",
                "content": "Revenue rose **12%**:\n\n![figure-1.png](/api/files/f_png/content)",
                "tool_calls": [
                    {"id": "call_1", "name": "execute_code", "code": "df.plot(", "text": ""},
                    {
                        "id": "call_2",
                        "name": "execute_code",
                        "code": "df.plot()",
                        "text": "Fixing the syntax error.",
                    },
                ],
                "tool_results": [
                    {
                        "call_id": "call_1",
                        "success": False,
                        "observation": observation(error="SyntaxError: '(' was never closed"),
                        "artifact_ids": [],
                    },
                    {
                        "call_id": "call_2",
                        "success": True,
                        "observation": observation(stdout="total 1,234"),
                        "artifact_ids": ["f_png", "f_csv"],
                    },
                ],
            },
        ],
    }
    detail.update(overrides)
    return detail


FILES = {
    "f_png": ReportFile("figure-1.png", "image/png", PNG),
    "f_csv": ReportFile("summary.csv", "text/csv", b"month,revenue\n2024-01,1\n"),
}


def test_steps_show_code_output_errors_and_the_answer() -> None:
    html = render_report(conversation(), FILES)
    assert html.startswith("<!DOCTYPE html>")
    assert "Step 1: execute_code — failed" in html
    assert "SyntaxError: &#x27;(&#x27; was never closed" in html
    assert "Step 2: execute_code — ok" in html
    assert "<p>Fixing the syntax error.</p>" in html
    assert '<pre class="output">total 1,234</pre>' in html
    assert "<strong>12%</strong>" in html
    assert "(empty)" not in html  # empty sections are left out


def test_charts_and_files_are_embedded_as_data_uris() -> None:
    html = render_report(conversation(), FILES)
    png_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert html.count(f'<img src="{png_uri}"') == 2  # in its step, and in the answer
    csv_uri = "data:text/csv;base64," + base64.b64encode(FILES["f_csv"].data).decode()
    assert f'<a href="{csv_uri}" download="summary.csv">summary.csv</a>' in html


def test_nothing_loads_from_elsewhere_and_nothing_runs() -> None:
    html = render_report(conversation(), FILES)
    assert "<script" not in html
    assert re.findall(r'(?:src|href)="(?!data:)', html) == []
    assert "default-src 'none'" in html


def test_a_file_not_given_is_named_not_linked() -> None:
    html = render_report(conversation(), {})
    assert "f_png (not included)" in html
    assert "[image not included: figure-1.png]" in html
    assert "/api/files/" not in html


def test_hostile_content_everywhere_comes_out_escaped() -> None:
    detail = conversation(title=HOSTILE)
    user, assistant = detail["messages"]
    user["content"] = HOSTILE
    assistant["content"] = f"{HOSTILE} ![{HOSTILE}](/api/files/f_png/content)"
    assistant["error"] = HOSTILE
    assistant["status"] = "error"
    assistant["tool_calls"][0]["code"] = HOSTILE
    assistant["tool_calls"][1]["text"] = HOSTILE
    assistant["tool_results"][1]["observation"] = observation(stdout=f"</pre>{HOSTILE}")
    files = {"f_png": ReportFile(f'"><img src=x onerror=alert(1)>{HOSTILE}', "image/png", PNG)}
    html = render_report(detail, files, notice=HOSTILE)
    assert "<script" not in html
    assert "onerror=alert(1)>" not in html
    assert "<img src=x" not in html
    assert html.count("&lt;script&gt;") >= 8


def test_an_unfinished_turn_says_how_it_ended() -> None:
    detail = conversation()
    detail["messages"][1].update(status="cancelled", error="stopped by the user")
    html = render_report(detail, FILES)
    assert "This turn ended cancelled: stopped by the user" in html


def test_the_notice_is_shown_under_the_title() -> None:
    html = render_report(conversation(), FILES, notice="The model's turns were replayed.")
    assert '<div class="notice">The model&#x27;s turns were replayed.</div>' in html


def test_observations_split_into_their_sections() -> None:
    sections = observation_sections(observation(stdout="a\nb", error="ValueError: bad"))
    assert sections is not None
    assert sections["stdout"] == "a\nb"
    assert sections["error"] == "ValueError: bad"
    assert observation_sections("some other tool's text") is None


def test_any_other_observation_is_shown_as_it_is() -> None:
    detail = conversation()
    detail["messages"][1]["tool_results"][1]["observation"] = "plain <text>"
    html = render_report(detail, FILES)
    assert '<pre class="output">plain &lt;text&gt;</pre>' in html
