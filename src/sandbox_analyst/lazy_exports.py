"""`lazy_exports`: the names a package exports, imported on first use (PEP 562), so that
importing the package costs nothing until one of them is used (a quick command must not pay
for the web framework, the ORM or the sandbox engine).

    from sandbox_analyst.lazy_exports import lazy_exports as _lazy_exports  # not an export

    _EXPORTS = {"create_app": "sandbox_analyst.api.app"}
    __getattr__, __dir__ = _lazy_exports(globals(), _EXPORTS)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of the package whose globals are
    `namespace`; `exports` maps each exported name to the module that defines it."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
