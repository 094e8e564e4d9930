"""A cell of any language as one string, in Jupyter's cell-magic notation: Python as it is,
the others under a first line naming their language (`%%bash`, `%%sql`, `%%R`).

This is how code of another language is kept wherever one string stands for a cell: the
execution log (whose successful cells are replayed into a rebuilt sandbox), notebooks, the
code a tool call shows. `split_cell` reads it back for `run_code`.
"""

from __future__ import annotations

from sandbox_analyst.sandbox.base import Language

_MAGIC: dict[str, str] = {"bash": "%%bash", "sql": "%%sql", "r": "%%R"}
_LANGUAGE_OF = {"%%bash": "bash", "%%sql": "sql", "%%r": "r"}


def tagged_cell(code: str, language: str) -> str:
    """`code` as one cell: unchanged for Python, else under its language's magic line."""
    magic = _MAGIC.get(language)
    return code if magic is None else f"{magic}\n{code}"


def split_cell(source: str) -> tuple[Language, str]:
    """The language and the code of a cell written by `tagged_cell`."""
    first, newline, rest = source.partition("\n")
    language = _LANGUAGE_OF.get(first.strip().lower())
    if language is None:
        return "python", source
    return language, rest if newline else ""  # type: ignore[return-value]
