"""Each check judges an `Answer` and, when it fails, says what it expected and what it got."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from sandbox_analyst.evaluation import Answer, ArtifactFile, Check

CHECK = TypeAdapter(Check)


def check(**fields: object):  # type: ignore[no-untyped-def]
    return CHECK.validate_python(fields)


def answer(text: str = "", tool_calls: int = 0, artifacts: list[ArtifactFile] | None = None):
    return Answer(text, tool_calls, artifacts or [])


def csv_file(name: str, frame: pd.DataFrame) -> ArtifactFile:
    data = frame.to_csv(index=False).encode()
    return ArtifactFile(name, "text/csv", len(data), data)


def test_numeric_passes_within_an_absolute_tolerance() -> None:
    mean = check(type="numeric", name="mean", expected=1.462, tolerance={"abs": 0.005})

    assert mean.evaluate(answer("@mean[1.46]")).passed
    failed = mean.evaluate(answer("@mean[1.47]"))
    assert not failed.passed
    assert failed.reason == "check_failed:numeric"
    assert failed.detail == "expected @mean[1.462] (±0.005), got 1.47"


def test_numeric_passes_within_a_relative_tolerance_by_default_a_tenth_of_a_percent() -> None:
    total = check(type="numeric", name="total", expected=12160.4)

    assert total.evaluate(answer("@total[12,165]")).passed  # 0.04% off
    assert not total.evaluate(answer("@total[12180]")).passed  # 0.16% off
    relative = check(type="numeric", name="total", expected=100, tolerance={"rel": 0.05})
    assert relative.evaluate(answer("@total[104.9]")).passed


def test_numeric_says_when_the_value_is_missing_or_no_number() -> None:
    mean = check(type="numeric", name="mean", expected=2, tolerance={"abs": 0})

    missing = mean.evaluate(answer("The mean is 2."))
    assert missing.detail == "expected @mean[2] (±0), but the answer has no @mean[…]"
    wordy = mean.evaluate(answer("@mean[about two]"))
    assert wordy.detail == "expected @mean[2] (±0), got 'about two': not a number"


def test_contains_and_not_contains_ignore_case_unless_told() -> None:
    says = answer("The widest sepals belong to Setosa.")

    assert check(type="contains", text="setosa").evaluate(says).passed
    assert not check(type="contains", text="setosa", case_sensitive=True).evaluate(says).passed
    refused = check(type="not_contains", text="SETOSA").evaluate(says)
    assert not refused.passed
    assert refused.detail == "the answer says 'SETOSA', which it must not"


def test_min_charts_counts_images_only() -> None:
    chart = ArtifactFile("figure-1.png", "image/png", 100)
    table = csv_file("out.csv", pd.DataFrame({"a": [1]}))
    two = check(type="min_charts", count=2)

    failed = two.evaluate(answer(artifacts=[chart, table]))
    assert failed.detail == "expected at least 2 chart(s), got 1"
    assert two.evaluate(answer(artifacts=[chart, chart])).passed


def test_max_tool_calls() -> None:
    limit = check(type="max_tool_calls", count=2)

    assert limit.evaluate(answer(tool_calls=2)).passed
    assert limit.evaluate(answer(tool_calls=3)).detail == ("expected at most 2 tool call(s), got 3")


def test_output_file_needs_a_table_with_the_columns() -> None:
    means = check(type="output_file", name="*.csv", columns=["cultivar", "alcohol"])
    good = csv_file("wine_means.csv", pd.DataFrame({"cultivar": ["a"], "alcohol": [1.0]}))
    short = csv_file("other.csv", pd.DataFrame({"cultivar": ["a"]}))

    assert means.evaluate(answer(artifacts=[short, good])).passed
    failed = means.evaluate(answer(artifacts=[short]))
    assert failed.detail == (
        "expected at least columns ['cultivar', 'alcohol']; other.csv has columns ['cultivar']"
    )
    chart_only = means.evaluate(answer(artifacts=[ArtifactFile("f.png", "image/png", 1)]))
    assert chart_only.detail == "expected a table file named *.csv; files made: f.png"


def test_output_file_reads_parquet_and_excel_and_can_want_exactly_the_columns() -> None:
    frame = pd.DataFrame({"year": [1935], "invest": [1.0], "extra": [0]})
    parquet, excel = io.BytesIO(), io.BytesIO()
    frame.to_parquet(parquet)
    frame.to_excel(excel, index=False)
    exact = check(type="output_file", columns=["year", "invest"], exact=True)
    loose = check(type="output_file", columns=["year", "invest"])

    for name, data in (("t.parquet", parquet.getvalue()), ("t.xlsx", excel.getvalue())):
        artifact = ArtifactFile(name, "application/octet-stream", len(data), data)
        assert loose.evaluate(answer(artifacts=[artifact])).passed, name
        assert not exact.evaluate(answer(artifacts=[artifact])).passed, name


def test_a_file_that_is_no_table_says_so() -> None:
    broken = ArtifactFile("t.parquet", "application/octet-stream", 3, b"abc")

    result = check(type="output_file", columns=["a"]).evaluate(answer(artifacts=[broken]))

    assert not result.passed
    assert "t.parquet: not readable as a table" in result.detail


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "numeric", "name": "has space", "expected": 1},
        {"type": "numeric", "name": "x", "expected": float("nan")},
        {"type": "numeric", "name": "x", "expected": 1, "tolerance": {"abs": -1}},
        {"type": "min_charts", "count": 0},
        {"type": "output_file", "columns": []},
        {"type": "contains", "text": ""},
        {"type": "contains", "text": "x", "extra": 1},
        {"type": "no_such_check"},
    ],
)
def test_bad_checks_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CHECK.validate_python(fields)
