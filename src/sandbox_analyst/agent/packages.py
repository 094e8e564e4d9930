"""Approved installs as the model sees them: the `install_package(name, version?)` tool, and a
cell of `%pip install NAME` lines, both of which ask the *server* for the package (the service
decides and installs; the agent only relays). The sandbox has no network of its own."""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.llm import ToolSpec

INSTALL_PACKAGE = "install_package"

INSTALL_PACKAGE_SPEC = ToolSpec(
    INSTALL_PACKAGE,
    "Ask the server to install a Python package into this sandbox (wheels from the configured "
    "index; the sandbox itself has no network). Allowed packages are installed at once and can "
    "be imported right after; others wait for an admin's approval.",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Package name on the index, e.g. faker."},
            "version": {"type": "string", "description": "Exact version; default: the newest."},
        },
        "required": ["name"],
    },
)
INSTALL_PACKAGE_USAGE = (
    "install_package(name, version): ask the server for a package the sandbox lacks."
)


@dataclass(frozen=True)
class PackageReply:
    ok: bool  # installed (or already there): it can be imported now
    message: str


PackageRequester = Callable[[str, str | None], Awaitable[PackageReply]]
"""What the service gives the agent: install `name` (at `version`) into the turn's sandbox if
allowed, and say what happened. Never raises for a refusal."""


class InvalidPackageArguments(ValueError):
    pass


def package_arguments(arguments: dict[str, object]) -> tuple[str, str | None]:
    """`name` and `version` of an install_package call; `InvalidPackageArguments` otherwise."""
    name = arguments.get("name")
    version = arguments.get("version")
    if not isinstance(name, str) or not name.strip():
        raise InvalidPackageArguments('install_package needs a "name" argument, e.g. "faker"')
    if version is not None and not isinstance(version, str):
        raise InvalidPackageArguments('"version" must be a string, e.g. "1.2.3"')
    return name.strip(), (version or "").strip() or None


async def install_package(requester: PackageRequester, arguments: dict[str, object]) -> Observation:
    try:
        name, version = package_arguments(arguments)
    except InvalidPackageArguments as exc:
        return Observation.failure("InvalidArguments", str(exc))
    reply = await requester(name, version)
    if reply.ok:
        return Observation(success=True, stdout=reply.message)
    return Observation.failure("PackageNotInstalled", reply.message)


_PIP_LINE = re.compile(r"^\s*[%!]\s*pip3?\s+install\s+(?P<args>.+?)\s*$")
_REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:==(?P<version>[^=<>!~\s]+))?$")


def pip_cell(code: str) -> list[tuple[str, str | None]] | None:
    """The packages a cell of only `%pip install ...` (or `!pip install ...`) lines asks for
    (blank lines and comments allowed), or None when it is anything else. Options (`-q`,
    `--upgrade`) are ignored; a requirement other than `name` or `name==version` makes it
    not a pip cell (the sandbox then says why pip cannot run)."""
    wanted: list[tuple[str, str | None]] = []
    for line in code.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        found = _PIP_LINE.match(line)
        if found is None:
            return None
        try:
            words = shlex.split(found.group("args"))
        except ValueError:
            return None
        for word in words:
            if word.startswith("-"):
                continue
            requirement = _REQUIREMENT.match(word)
            if requirement is None:
                return None
            wanted.append((requirement.group("name"), requirement.group("version")))
    return wanted or None


async def install_pip_cell(
    requester: PackageRequester, wanted: list[tuple[str, str | None]]
) -> Observation:
    """Relay a `%pip install` cell's packages to the server, one after the other."""
    replies = [await requester(name, version) for name, version in wanted]
    text = "\n".join(reply.message for reply in replies)
    if all(reply.ok for reply in replies):
        return Observation(success=True, stdout=text)
    return Observation.failure("PackageNotInstalled", text)
