"""A cell of any language as one string: Python as it is, the others under their cell magic."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox import split_cell, tagged_cell


@pytest.mark.parametrize(
    ("language", "code", "cell"),
    [
        ("python", "x = 1", "x = 1"),
        ("bash", "ls -la", "%%bash\nls -la"),
        ("sql", "SELECT 1", "%%sql\nSELECT 1"),
        ("r", "x <- 1\nx", "%%R\nx <- 1\nx"),
    ],
)
def test_a_cell_reads_back_as_its_language_and_code(language: str, code: str, cell: str) -> None:
    assert tagged_cell(code, language) == cell
    assert split_cell(cell) == (language, code)


def test_python_that_only_looks_like_a_magic_further_down_stays_python() -> None:
    source = "x = 1\n%%sql\nSELECT 1"
    assert split_cell(source) == ("python", source)
    assert split_cell("%%r") == ("r", "")  # a magic line alone: an empty cell of its language
