"""Reading a suite from YAML: references and input files resolved from the suite's directory,
the instruction added to questions that ask for numbers, and errors that name the line, the
case and the field to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox_analyst.evaluation import DEFAULT_INSTRUCTION, SuiteError, load_suite
from tests.evaluation.conftest import write_suite

GOOD = """\
name: sales
references: answers.json
cases:
  - id: total
    question: What were the total sales?
    files: [sales.csv]
    checks:
      - type: numeric
        name: total
        expected: {reference: total_sales}
        tolerance: {abs: 0.5}
      - {type: contains, text: {reference: best_month}}
  - id: chart
    question: Plot the sales.
    files: [sales.csv]
    checks:
      - {type: min_charts}
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    return raised.value.problems


def test_a_suite_resolves_its_references_and_files(tmp_path: Path) -> None:
    path = write_suite(tmp_path, GOOD)
    (tmp_path / "answers.json").write_text(json.dumps({"total_sales": 33, "best_month": "Feb"}))

    suite = load_suite(path)

    total, chart = suite.cases
    numeric, contains = total.checks
    assert numeric.expected == 33.0  # type: ignore[union-attr]
    assert contains.text == "Feb"  # type: ignore[union-attr]
    assert suite.path == path
    assert suite.file_path("sales.csv") == tmp_path / "sales.csv"
    assert suite.timeout_of(chart) == 600.0
    assert [case.id for case in suite.selected(["chart"])] == ["chart"]
    with pytest.raises(KeyError):
        suite.selected(["nope"])


def test_questions_with_numeric_checks_get_the_instruction_naming_their_values(
    tmp_path: Path,
) -> None:
    path = write_suite(tmp_path, GOOD)
    (tmp_path / "answers.json").write_text(json.dumps({"total_sales": 33, "best_month": "Feb"}))
    suite = load_suite(path)
    total, chart = suite.cases

    assert suite.prompt(total) == (
        "What were the total sales?\n\n" + DEFAULT_INSTRUCTION.replace("{answers}", "@total[value]")
    )
    assert suite.prompt(chart) == "Plot the sales."  # nothing to state: no instruction

    custom = write_suite(
        tmp_path / "custom",
        GOOD.replace("name: sales", "name: sales\ninstruction: 'Answer as {answers}.'"),
    )
    (tmp_path / "custom" / "answers.json").write_text('{"total_sales": 1, "best_month": "x"}')
    assert load_suite(custom).prompt(total).endswith("\n\nAnswer as @total[value].")


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    path = write_suite(tmp_path, "name: x\ncases:\n  - id: [unclosed\n")

    (problem,) = problems(path)

    assert problem.startswith("4: not valid YAML")
    with pytest.raises(SuiteError, match=r"suite\.yaml:4: not valid YAML"):
        load_suite(path)


def test_each_bad_field_is_named_with_its_line_and_case(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        """\
        name: sales
        cases:
          - id: total
            question: What were the total sales?
            files: [sales.csv, missing.csv]
            checks:
              - type: numeric
                name: total
                expected: 33
                tolerance: {abs: -1}
              - type: colour
          - id: no-checks
            question: Hello?
            checks: []
          - id: infinite
            question: Hello?
            checks:
              - {type: numeric, name: x, expected: .inf}
        """,
    )

    assert problems(path) == [
        "5: case 'total', files: no input file 'missing.csv' in " + str(tmp_path),
        "10: case 'total', checks[0].tolerance.abs: Input should be greater than or equal to 0",
        "11: case 'total', checks[1]: Input tag 'colour' found using 'type' does not match any "
        "of the expected tags: 'numeric', 'contains', 'not_contains', 'min_charts', "
        "'max_tool_calls', 'output_file'",
        "14: case 'no-checks', checks: List should have at least 1 item after validation, not 0",
        "18: case 'infinite', checks[0]: the expected value of @x is not a finite number",
    ]


def test_a_missing_field_points_at_its_case_and_an_unknown_one_is_refused(
    tmp_path: Path,
) -> None:
    path = write_suite(
        tmp_path,
        """\
        name: sales
        timeout: 10
        cases:
          - id: total
            checks: [{type: min_charts}]
        """,
    )

    assert problems(path) == [
        "2: timeout: Extra inputs are not permitted",
        "4: case 'total', question: Field required",
    ]


def test_references_must_exist_and_be_named(tmp_path: Path) -> None:
    path = write_suite(tmp_path, GOOD)

    assert problems(path) == [f"2: references: no such file {tmp_path / 'answers.json'}"]

    (tmp_path / "answers.json").write_text(json.dumps({"total_sales": 33}))
    assert problems(path) == [
        "12: case 'total', checks[1].text: no reference named 'best_month' in the suite's "
        "references file"
    ]


def test_duplicate_case_ids_and_a_file_that_is_no_mapping(tmp_path: Path) -> None:
    twice = write_suite(
        tmp_path,
        """\
        name: sales
        cases:
          - {id: a, question: q, checks: [{type: min_charts}]}
          - {id: a, question: q, checks: [{type: min_charts}]}
        """,
    )
    assert problems(twice) == ["3: cases: two cases have the id 'a'"]

    listed = write_suite(tmp_path / "list", "- just\n- a list\n")
    assert problems(listed) == ["1: a suite is a mapping with `name` and `cases`"]
