"""`load_suite(path)`: a suite from its YAML file, with errors that say where.

The file is parsed twice over when it is wrong: the data is validated as a `Suite`, and each
error's location (`cases[3].checks[0].tolerance.abs`) is found again in the YAML node tree to
name its line and its case, so that the message points at what to fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sandbox_analyst.evaluation.errors import SuiteError
from sandbox_analyst.evaluation.references import REFERENCES_CONTEXT, ReferenceValues
from sandbox_analyst.evaluation.suite import FILES_CONTEXT, Suite

MAX_SUITE_BYTES = 4 * 1024 * 1024


def load_suite(path: Path) -> Suite:
    """The suite in `path`; `SuiteError` when it cannot be read or is not a valid suite."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(path, [f" cannot read the suite: {exc}"]) from exc
    if len(text) > MAX_SUITE_BYTES:
        raise SuiteError(path, [" the suite file is larger than 4 MiB"])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SuiteError(path, [_yaml_problem(exc)]) from exc
    if not isinstance(data, dict):
        raise SuiteError(path, ["1: a suite is a mapping with `name` and `cases`"])
    directory = path.parent
    files_dir = data.get("files_dir", ".")
    context: dict[str, Any] = {
        FILES_CONTEXT: directory / files_dir if isinstance(files_dir, str) else None
    }
    if isinstance(data.get("references"), str):
        context[REFERENCES_CONTEXT] = _references(path, text, directory / data["references"])
    try:
        suite = Suite.model_validate(data, context=context)
    except ValidationError as exc:
        root = yaml.compose(text)
        found = [_problem(root, data, error["loc"], error["msg"]) for error in exc.errors()]
        raise SuiteError(path, [f"{line}: {text}" for line, text in sorted(found)]) from None
    return suite.located(path)


def _references(path: Path, text: str, references: Path) -> ReferenceValues:
    """The reference values the suite names, or a `SuiteError` pointing at `references:`."""
    where = _line_of_key(yaml.compose(text), "references")
    try:
        raw = references.read_text(encoding="utf-8")
        values = json.loads(raw) if references.suffix == ".json" else yaml.safe_load(raw)
    except FileNotFoundError:
        problem = f"{where}: references: no such file {references}"
        raise SuiteError(path, [problem]) from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SuiteError(path, [f"{where}: references: cannot read {references}: {exc}"]) from None
    good = isinstance(values, dict) and all(
        isinstance(name, str) and isinstance(value, (int, float, str))
        for name, value in values.items()
    )
    if not good:
        problem = f"{where}: references: {references} must map names to numbers or texts"
        raise SuiteError(path, [problem])
    return values


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    line = f"{mark.line + 1}" if mark is not None else "1"
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{line}: not valid YAML: {problem}"


def _problem(
    root: yaml.Node | None, data: Any, loc: tuple[Any, ...], message: str
) -> tuple[int, str]:
    """The line of the error at `loc` (a pydantic location), and `case 'ID', FIELD: MESSAGE`."""
    node, line, path = root, 1, []
    value = data
    case_id = None
    for position, part in enumerate(loc):
        child = _child(node, part)
        if child is None:
            # A field that is missing is named, on its parent's line; a union's tag (the
            # check's `type`) is not a field of the file.
            if position == len(loc) - 1 and not _is_tag(node, part):
                path.append(part)
            continue
        node = child
        line = node.start_mark.line + 1
        path.append(part)
        value = value[part] if isinstance(value, (dict, list)) else None
        if path[:1] == ["cases"] and len(path) == 2 and isinstance(value, dict):
            case_id = value.get("id")
    field = _dotted(path[2:] if case_id is not None else path)
    where = f"case {case_id!r}" if case_id is not None else ""
    if field:
        where = f"{where}, {field}" if where else field
    message = message.removeprefix("Value error, ")
    return line, f"{where}: {message}" if where else message


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _is_tag(node: yaml.Node | None, part: Any) -> bool:
    tag = _child(node, "type")
    return isinstance(tag, yaml.ScalarNode) and tag.value == part


def _line_of_key(root: yaml.Node | None, key: str) -> int:
    child = _child(root, key)
    return child.start_mark.line + 1 if child is not None else 1


def _dotted(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
