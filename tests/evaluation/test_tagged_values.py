"""How answers state values: `@name[value]`, the last mention winning, numbers as people and
models write them."""

from __future__ import annotations

import pytest

from sandbox_analyst.evaluation import parse_number, tagged_values


def test_each_tagged_name_maps_to_its_last_value() -> None:
    text = "First @mean[1.5], then corrected: **@mean[1.46]**; also `@rows[150]`."

    assert tagged_values(text) == {"mean": "1.46", "rows": "150"}


def test_markdown_escaped_brackets_are_read() -> None:
    assert tagged_values(r"@share\[0.25\]") == {"share": "0.25"}


def test_text_without_tags_or_with_an_email_address_has_none() -> None:
    assert tagged_values("write to me@example.com about the [mean]") == {}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42.0),
        ("-0.25", -0.25),
        ("+3", 3.0),
        ("1,234.5", 1234.5),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("\u22122", -2.0),  # a typographic minus
    ],
)
def test_numbers_are_parsed(text: str, number: float) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["", "about 3", "3 cm", "n/a", "1.2.3"])
def test_what_is_no_number_is_none(text: str) -> None:
    assert parse_number(text) is None
