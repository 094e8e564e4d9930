"""The scripted model answers from the tool output it is sent: every figure it quotes is read
from that output, and output lacking a figure it needs is reported, never papered over."""

from __future__ import annotations

from sandbox_analyst.demo.script import DemoScript, ToolOutput, number
from sandbox_analyst.testing import Turn

CHART = "![figure-1.png](/api/files/f_1/content)"


def observation(stdout: str, *, error: str = "(none)", files: str = "(none)") -> str:
    return (
        f"success: {'true' if error == '(none)' else 'false'}\nstdout:\n{stdout}\n"
        f"stderr:\n(empty)\nerror:\n{error}\nresults:\n(none)\nfiles:\n{files}\nnotes:\n(none)"
    )


def request(tool_output: str) -> dict:
    """An OpenAI request body whose newest message is a tool result."""
    return {
        "messages": [
            {"role": "user", "content": "question"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1"}]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_output},
        ]
    }


MONTHLY_OUTPUT = observation(
    "Revenue 2023: 1,001\nRevenue 2024: 2,002\nChange: +100.0%\nBest month: 2024-12 (300)\n"
    "Weakest month: 2023-02 (10)\nMonths with rows lacking figures: 2023-02 (3 rows)\n",
    files=f"- figure-1.png (image/png, 30.0 KB): {CHART}",
)


def answer(script: DemoScript, question: int, turn: int, tool_output: str) -> Turn:
    entry = script.questions()[question].turns[turn]
    assert callable(entry)
    return entry(request(tool_output))


def test_the_monthly_answer_quotes_the_printed_figures_and_the_chart() -> None:
    script = DemoScript()
    text = answer(script, 1, 2, MONTHLY_OUTPUT).text
    assert "**1,001** in 2023 to **2,002** in 2024, **+100.0%**" in text
    assert CHART in text
    assert "Weakest month: 2023-02 (10). Careful: 3 rows of that month have no figures" in text
    assert script.mismatches == []


def test_output_lacking_a_figure_is_reported_not_answered() -> None:
    script = DemoScript()
    lacking = MONTHLY_OUTPUT.replace("Revenue 2024: 2,002\n", "")
    turn = answer(script, 1, 2, lacking)
    assert "cannot answer from this output" in turn.text
    assert "2,002" not in turn.text
    assert len(script.mismatches) == 1
    assert "'Revenue 2024'" in script.mismatches[0]


def test_the_fix_follows_only_the_expected_failure() -> None:
    script = DemoScript()
    failed = observation("", error="AttributeError: Can only use .dt accessor")
    fix = answer(script, 1, 1, failed)
    ((tool, arguments),) = fix.tool_calls
    assert tool == "execute_code"
    assert "pd.to_datetime" in arguments["code"]
    assert script.mismatches == []

    unexpected = answer(script, 1, 1, observation("it worked"))
    assert unexpected.tool_calls == []
    assert "AttributeError" in script.mismatches[0]


def test_a_chart_the_code_did_not_make_is_a_mismatch() -> None:
    script = DemoScript()
    answer(
        script,
        1,
        2,
        MONTHLY_OUTPUT.replace(f"- figure-1.png (image/png, 30.0 KB): {CHART}", "(none)"),
    )
    assert "no chart or file" in script.mismatches[0]


def test_printed_lines_are_read_by_label_and_prefix() -> None:
    output = ToolOutput(observation("Rows: 9,824\nStore A: 1 -> 2\nStore B: 3 -> 4\n"))
    assert output.value("Rows") == "9,824"
    assert output.lines("Store") == ["A: 1 -> 2", "B: 3 -> 4"]
    assert number("+28.3%") == 28.3
    assert number("-17,935") == -17935
