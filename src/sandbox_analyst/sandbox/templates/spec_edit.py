"""Adding packages to a template file in place (approved installs folded into a template): the
`packages` list is edited as text, so the admin's comments and layout stay, and the result is
validated before it is kept."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sandbox_analyst.sandbox.templates.errors import TemplateSpecError
from sandbox_analyst.sandbox.templates.spec import load_spec

_YAML_FLOW = re.compile(r"^packages:\s*\[(?P<items>.*)\]\s*(?P<comment>#.*)?$")
_YAML_BLOCK = re.compile(r"^packages:\s*(#.*)?$")
_YAML_ITEM = re.compile(r"^(?P<indent>\s+)-\s")
_TOML_LINE = re.compile(r"^packages\s*=\s*\[(?P<items>.*)\]\s*(?P<comment>#.*)?$")
_TOML_OPEN = re.compile(r"^packages\s*=")


def add_packages(path: Path, requirements: Sequence[str]) -> list[str]:
    """Add `requirements` whose package the template does not list yet; returns those added.
    The file is left as it was when the result would not be a valid template."""
    spec = load_spec(path)
    listed = {canonicalize_name(Requirement(item).name) for item in spec.packages}
    added = []
    for requirement in requirements:
        name = canonicalize_name(Requirement(requirement).name)
        if name not in listed:
            listed.add(name)
            added.append(requirement)
    if not added:
        return []
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines()
    edited = _toml(path, lines, added) if path.suffix == ".toml" else _yaml(lines, added)
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    try:
        load_spec(path)
    except TemplateSpecError:
        path.write_text(original, encoding="utf-8")
        raise
    return added


def _yaml(lines: list[str], added: list[str]) -> list[str]:
    for number, line in enumerate(lines):
        flow = _YAML_FLOW.match(line)
        if flow is not None:
            items = [item.strip() for item in flow.group("items").split(",") if item.strip()]
            comment = f"  {flow.group('comment')}" if flow.group("comment") else ""
            lines[number] = f"packages: [{', '.join([*items, *added])}]{comment}"
            return lines
        if _YAML_BLOCK.match(line):
            last, indent = number, "  "
            for following in range(number + 1, len(lines)):
                item = _YAML_ITEM.match(lines[following])
                if item is None:
                    if lines[following].strip() and not lines[following].startswith((" ", "#")):
                        break
                    continue
                last, indent = following, item.group("indent")
            return [*lines[: last + 1], *(f"{indent}- {a}" for a in added), *lines[last + 1 :]]
    return [*lines, f"packages: [{', '.join(added)}]"]


def _toml(path: Path, lines: list[str], added: list[str]) -> list[str]:
    quoted = [json.dumps(item) for item in added]
    for number, line in enumerate(lines):
        one_line = _TOML_LINE.match(line)
        if one_line is not None:
            items = one_line.group("items").strip().rstrip(",")
            joined = ", ".join([items, *quoted]) if items else ", ".join(quoted)
            comment = f"  {one_line.group('comment')}" if one_line.group("comment") else ""
            lines[number] = f"packages = [{joined}]{comment}"
            return lines
        if _TOML_OPEN.match(line):
            raise TemplateSpecError(
                path,
                f"the packages list spans several lines; add {', '.join(quoted)} to it by hand",
                line=number + 1,
                field="packages",
            )
    # A top-level key goes before the first table.
    first_table = next(
        (i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines)
    )
    return [*lines[:first_table], f"packages = [{', '.join(quoted)}]", *lines[first_table:]]
