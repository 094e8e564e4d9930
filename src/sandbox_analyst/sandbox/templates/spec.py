"""A template's declarative file: what a sandbox environment holds, read from YAML or TOML.

    # <templates_dir>/nlp.yaml
    description: Text analysis with NLTK
    packages: [nltk==3.9.1, regex>=2024]      # PEP 508; wheels from the configured index
    files:                                      # copied into every session's workdir
      - {source: data/stopwords.txt, target: stopwords.txt}   # source relative to this file
    setup: |                                    # run once at build time, cwd = $TEMPLATE_DATA
      import zipfile, nltk ...
    env: {NLTK_DATA: "${TEMPLATE_DATA}"}       # set in every session of the template
    preload: [nltk]                             # what the template's zygote imports
    limits: {timeout: 300, memory_mb: 4096, disk_mb: 2048}

A bad file raises `TemplateSpecError` naming the file, the line and the field: YAML positions
come from the node marks, TOML ones from tomllib's message or from locating the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from sandbox_analyst.sandbox.egress.policy import AllowEntry
from sandbox_analyst.sandbox.provider import DEFAULT_TEMPLATE
from sandbox_analyst.sandbox.templates.errors import TemplateSpecError

SPEC_SUFFIXES = (".yaml", ".yml", ".toml")
DATA_PLACEHOLDER = "${TEMPLATE_DATA}"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Set by the engine for every worker; a template changing them could break the worker or
# point it at code outside the sandbox's view.
_RESERVED_ENV = {"PATH", "HOME", "PWD", "TMPDIR", "MPLBACKEND", "MPLCONFIGDIR", "IPYTHONDIR"}
_RESERVED_ENV_PREFIXES = ("PYTHON", "LD_", "OPENBLAS_", "OMP_", "MKL_", "NUMEXPR_")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TemplateFile(_Strict):
    source: str = Field(description="File or directory, relative to the template file.")
    target: str | None = Field(
        None, description="Where it lands, relative to the workdir; default: the source's name."
    )

    @field_validator("source", "target")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = PurePosixPath(value)
        if not value.strip() or path.is_absolute() or ".." in path.parts:
            raise ValueError("must be a relative path without '..'")
        return value

    @property
    def destination(self) -> str:
        return self.target or PurePosixPath(self.source).name


class TemplateLimits(_Strict):
    """Defaults for the template's sessions; unset ones fall back to the sandbox settings."""

    timeout: float | None = Field(None, gt=0, description="Seconds a cell may run.")
    memory_mb: int | None = Field(None, ge=512, description="Memory per worker, in MiB.")
    disk_mb: int | None = Field(None, ge=1, description="Workdir size, in MiB.")


class TemplateEgress(_Strict):
    allow: list[str] = Field(
        default_factory=list,
        description="host:port entries, as in sandbox.egress.allow; a connection must be "
        "allowed by both lists. Empty: this template's sandboxes get no network.",
    )

    @field_validator("allow")
    @classmethod
    def _entries(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            AllowEntry.parse(entry)  # EgressPolicyError is a ValueError: a clear field error
        return entries


def _requirement(value: str) -> str:
    try:
        requirement = Requirement(value)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise ValueError(f"{value!r} is not a valid requirement ({reason})") from exc
    if requirement.url:
        raise ValueError(f"{value!r}: only packages from the index, not URLs")
    return value


def _module(value: str) -> str:
    if not _MODULE.match(value):
        raise ValueError(f"{value!r} is not a module name")
    return value


def _environment_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not an environment variable name")
    if name in _RESERVED_ENV or name.startswith(_RESERVED_ENV_PREFIXES):
        raise ValueError(f"{name} is set by the sandbox engine and cannot be changed")
    return name


RequirementText = Annotated[str, AfterValidator(_requirement)]
EnvironmentName = Annotated[str, AfterValidator(_environment_name)]
ModuleName = Annotated[str, AfterValidator(_module)]


class TemplateSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    packages: list[RequirementText] = Field(
        default_factory=list, description="PEP 508 requirements."
    )
    files: list[TemplateFile] = Field(default_factory=list)
    setup: str | None = Field(None, description="Python run once at build time.")
    setup_timeout: float = Field(600.0, gt=0, le=24 * 3600)
    env: dict[EnvironmentName, str] = Field(default_factory=dict)
    preload: list[ModuleName] = Field(default_factory=list)
    limits: TemplateLimits = Field(default_factory=TemplateLimits)
    egress: TemplateEgress | None = Field(
        None, description="Narrows sandbox.egress.allow for this template (never widens it)."
    )
    _path: Path | None = PrivateAttr(None)

    @field_validator("packages")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        seen: set[str] = set()
        for value in values:
            name = canonicalize_name(Requirement(value).name)
            if name in seen:
                raise ValueError(f"{value!r}: the package is listed twice")
            seen.add(name)
        return values

    @property
    def path(self) -> Path | None:
        """The file this spec was read from (None for the built-in default)."""
        return self._path

    @property
    def base_dir(self) -> Path | None:
        return self._path.parent if self._path is not None else None

    def environment(self, data_dir: Path) -> dict[str, str]:
        """`env` with `${TEMPLATE_DATA}` replaced by the build's data directory."""
        return {
            key: value.replace(DATA_PLACEHOLDER, str(data_dir)) for key, value in self.env.items()
        }

    def canonical(self) -> dict[str, Any]:
        """What identifies the spec's content (for the build hash): every field, in order.
        An unset egress section is left out, so builds made before it existed stay current;
        a set one is in, so sessions always run a build made with the file's policy."""
        content = self.model_dump(mode="json")
        if content.get("egress") is None:
            content.pop("egress", None)
        return content


def default_spec(preload: Sequence[str]) -> TemplateSpec:
    """The built-in template: the server's own environment, no build needed."""
    return TemplateSpec(
        name=DEFAULT_TEMPLATE,
        description="The server's own environment: pandas, matplotlib, seaborn, plotly, "
        "statsmodels, scikit-learn, xgboost, polars, duckdb...",
        preload=list(preload),
    )


def load_spec(path: Path) -> TemplateSpec:
    """Read and validate one template file; the name comes from the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateSpecError(path, f"cannot read the file: {exc}") from exc
    if path.suffix == ".toml":
        data, locate = _parse_toml(path, text)
    elif path.suffix in (".yaml", ".yml"):
        data, locate = _parse_yaml(path, text)
    else:
        raise TemplateSpecError(path, f"unknown kind of file (expected {', '.join(SPEC_SUFFIXES)})")
    if not isinstance(data, dict):
        raise TemplateSpecError(path, "expected a mapping of fields at the top level", line=1)
    stem = path.stem
    if stem == DEFAULT_TEMPLATE:
        raise TemplateSpecError(
            path, "'default' is the built-in template (the server's environment); pick another name"
        )
    if "name" in data and data["name"] != stem:
        raise TemplateSpecError(
            path,
            f"{data['name']!r} differs from the file name; the template is named after its file "
            f"({stem!r})",
            line=locate(("name",)),
            field="name",
        )
    try:
        spec = TemplateSpec.model_validate({**data, "name": stem})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(part for part in first["loc"] if part != "[key]")
        message = first["msg"].removeprefix("Value error, ")
        raise TemplateSpecError(
            path, message, line=locate(loc), field=_dotted(loc) or None
        ) from exc
    spec._path = path.resolve()
    _check_sources(path, spec, locate)
    return spec


def _check_sources(path: Path, spec: TemplateSpec, locate: Any) -> None:
    base = spec.base_dir
    assert base is not None
    for index, item in enumerate(spec.files):
        source = (base / item.source).resolve()
        if not source.exists():
            loc = ("files", index, "source")
            raise TemplateSpecError(
                path, f"{source} does not exist", line=locate(loc), field=_dotted(loc)
            )


def _dotted(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


# --- YAML: positions from the composed node tree ------------------------------------------


def _parse_yaml(path: Path, text: str) -> tuple[Any, Any]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise TemplateSpecError(path, f"not valid YAML: {exc.problem or exc}", line=line) from exc
    except yaml.YAMLError as exc:
        raise TemplateSpecError(path, f"not valid YAML: {exc}") from exc
    if root is not None:
        _refuse_duplicate_keys(path, root)

    def locate(loc: tuple[Any, ...]) -> int | None:
        return _yaml_line(root, loc)

    return data, locate


def _refuse_duplicate_keys(path: Path, node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise TemplateSpecError(
                    path, "given twice", line=key.start_mark.line + 1, field=str(key.value)
                )
            seen.add(key.value)
            _refuse_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicate_keys(path, item)


def _yaml_line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line of the deepest key or item on `loc` that exists (a missing field: its parent's)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            return line
        node = child
    return line


# --- TOML: tomllib gives no positions beyond its parse errors; find keys by scanning -------

_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _parse_toml(path: Path, text: str) -> tuple[Any, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_AT.search(str(exc))
        message = _TOML_AT.sub("", str(exc)).strip()
        line = int(found.group(1)) if found else None
        raise TemplateSpecError(path, f"not valid TOML: {message}", line=line) from exc
    lines = text.splitlines()

    def locate(loc: tuple[Any, ...]) -> int | None:
        return _toml_line(lines, loc)

    return data, locate


def _toml_line(lines: list[str], loc: tuple[Any, ...]) -> int | None:
    """Best line for `loc`: the key's line inside its table, the n-th `[[array]]` header, or
    the nearest enclosing table found."""
    keys = [str(part) for part in loc if not isinstance(part, int)]
    index = next((part for part in loc if isinstance(part, int)), None)
    best: int | None = None
    table: list[str] = []
    array_seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        header = _TOML_TABLE.match(raw)
        if header:
            table = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            dotted = ".".join(table)
            if raw.lstrip().startswith("[["):
                array_seen[dotted] = array_seen.get(dotted, -1) + 1
                if keys[:1] == table and (index is None or array_seen[dotted] == index):
                    best = number
                    if len(keys) == 1:
                        return number
            elif keys[: len(table)] == table:
                best = number
            continue
        match = _TOML_KEY.match(raw)
        if not match:
            continue
        key = [part.strip().strip("\"'") for part in match.group(1).split(".")]
        full = table + key
        in_array = bool(table) and array_seen.get(".".join(table)) is not None
        if in_array and index is not None and array_seen[".".join(table)] != index:
            continue
        if full == keys[: len(full)]:
            best = number
            if len(full) == len(keys):
                return number
    return best
