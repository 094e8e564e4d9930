"""Reference answers a suite names instead of writing them down: `expected: {reference: NAME}`
in a check takes the value NAME has in the suite's `references` file (a JSON or YAML mapping
of names to numbers or strings), which the suite's own reference code computed from its input
files (see `starter/build.py`). Resolved while the suite is validated, from the validation
context `load_suite` gives."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

ReferenceValues = dict[str, float | int | str]
REFERENCES_CONTEXT = "references"


def _resolved(value: Any, info: ValidationInfo) -> Any:
    if not (isinstance(value, dict) and set(value) == {"reference"}):
        return value
    name = value["reference"]
    known: ReferenceValues | None = (info.context or {}).get(REFERENCES_CONTEXT)
    if known is None:
        raise ValueError(
            f"names the reference {name!r}, but the suite has no `references` file to look it up"
        )
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"no reference named {name!r} in the suite's references file")
    return known[name]


# A number or a text, given as is or as `{reference: NAME}`.
ExpectedNumber = Annotated[float, BeforeValidator(_resolved)]
ExpectedText = Annotated[str, BeforeValidator(_resolved)]
