"""Checks on the free text people give us (names, titles, descriptions).

Control characters are refused in one-line names, and NUL and lone surrogates everywhere:
PostgreSQL cannot store NUL, a lone surrogate cannot be encoded at all, and no honest client
sends either.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from sandbox_analyst.service.errors import ValidationError

_ALLOWED_IN_TEXT = {"\n", "\r", "\t"}


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    allowed = _ALLOWED_IN_TEXT if multiline else set()
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value)


def check_name(value: str, *, field: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise ValidationError(f"{field} is longer than {max_length} characters", field=field)
    if has_control_characters(value):
        raise ValidationError(f"{field} must not contain control characters", field=field)
    return value


def _one_line(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _multiline(value: str) -> str:
    if has_control_characters(value, multiline=True):
        raise ValueError("must not contain control characters other than newlines and tabs")
    return value


# Pydantic field types for request models: validation errors then name the field.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_one_line)
]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,100}$")]

Description = Annotated[str, StringConstraints(max_length=2_000), AfterValidator(_multiline)]
Instructions = Annotated[str, StringConstraints(max_length=50_000), AfterValidator(_multiline)]
