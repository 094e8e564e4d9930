"""The `@name[value]` convention: how an answer states the numbers a suite checks.

A model writes each value it was asked for as `@mean_petal_length[1.462]` somewhere in its
final answer (the suite's instruction asks it to). Markdown may escape the brackets
(`@x\\[1.5\\]`) and a number may carry thousands separators (`@total[1,234.5]`); the last
mention of a name wins, so an answer may correct itself.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"@(?P<name>[A-Za-z_][A-Za-z0-9_]*)\\?\[(?P<value>[^\[\]\n]{0,60}?)\\?\]")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def tagged_values(text: str) -> dict[str, str]:
    """Each name tagged in `text` and the text inside its last `[...]`."""
    return {match["name"]: match["value"].strip() for match in _TAG.finditer(text)}


def parse_number(text: str) -> float | None:
    """The number `text` states (`1,234.5`, `-0.25`, `1e-3`), or None when it is none."""
    cleaned = text.replace(",", "").replace("_", "").replace(" ", "").replace("\u2212", "-")
    if not _NUMBER.fullmatch(cleaned):
        return None
    return float(cleaned)
