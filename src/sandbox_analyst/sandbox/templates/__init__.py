"""Sandbox templates: declarative environments (packages, files, setup code, preload list,
limits) built with uv as overlays on the server's own environment, and approved installs of
single packages into a session's overlay. The server builds and fetches; sandboxes never reach
the network.

Names are imported on first use (PEP 562): a session of the default template (`analyst exec`)
needs none of the builder, the installer or their HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox_analyst.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.templates.builder import BuildOutcome, TemplateBuilder
    from sandbox_analyst.sandbox.templates.builds import BuildInfo, BuildStore, TemplateBuild
    from sandbox_analyst.sandbox.templates.catalog import (
        RemoveOutcome,
        TemplateCatalog,
        TemplateDetails,
        TemplateRuntime,
        TemplateStatus,
    )
    from sandbox_analyst.sandbox.templates.errors import (
        IndexUnreachable,
        InvalidRequirementError,
        NoWheelAvailable,
        PackageConflict,
        PackageError,
        PackageNotAllowed,
        PackageNotFound,
        PackageTooLarge,
        TemplateBuildError,
        TemplateError,
        TemplateInUseError,
        TemplateNotBuiltError,
        TemplateNotFoundError,
        TemplateProtectedError,
        TemplateSpecError,
    )
    from sandbox_analyst.sandbox.templates.installs import (
        AllowList,
        InstalledWheel,
        InstallResult,
        PackageInstaller,
        PackageLimits,
    )
    from sandbox_analyst.sandbox.templates.spec import DEFAULT_TEMPLATE, TemplateSpec, load_spec
    from sandbox_analyst.sandbox.templates.uv_runner import PackageIndex, UvRunner
    from sandbox_analyst.sandbox.templates.wheel_cache import WheelCache

# Exported name -> the module that defines it.
_EXPORTS = {
    "BuildOutcome": "sandbox_analyst.sandbox.templates.builder",
    "TemplateBuilder": "sandbox_analyst.sandbox.templates.builder",
    "BuildInfo": "sandbox_analyst.sandbox.templates.builds",
    "BuildStore": "sandbox_analyst.sandbox.templates.builds",
    "TemplateBuild": "sandbox_analyst.sandbox.templates.builds",
    "RemoveOutcome": "sandbox_analyst.sandbox.templates.catalog",
    "TemplateCatalog": "sandbox_analyst.sandbox.templates.catalog",
    "TemplateDetails": "sandbox_analyst.sandbox.templates.catalog",
    "TemplateRuntime": "sandbox_analyst.sandbox.templates.catalog",
    "TemplateStatus": "sandbox_analyst.sandbox.templates.catalog",
    "IndexUnreachable": "sandbox_analyst.sandbox.templates.errors",
    "InvalidRequirementError": "sandbox_analyst.sandbox.templates.errors",
    "NoWheelAvailable": "sandbox_analyst.sandbox.templates.errors",
    "PackageConflict": "sandbox_analyst.sandbox.templates.errors",
    "PackageError": "sandbox_analyst.sandbox.templates.errors",
    "PackageNotAllowed": "sandbox_analyst.sandbox.templates.errors",
    "PackageNotFound": "sandbox_analyst.sandbox.templates.errors",
    "PackageTooLarge": "sandbox_analyst.sandbox.templates.errors",
    "TemplateBuildError": "sandbox_analyst.sandbox.templates.errors",
    "TemplateError": "sandbox_analyst.sandbox.templates.errors",
    "TemplateInUseError": "sandbox_analyst.sandbox.templates.errors",
    "TemplateNotBuiltError": "sandbox_analyst.sandbox.templates.errors",
    "TemplateNotFoundError": "sandbox_analyst.sandbox.templates.errors",
    "TemplateProtectedError": "sandbox_analyst.sandbox.templates.errors",
    "TemplateSpecError": "sandbox_analyst.sandbox.templates.errors",
    "AllowList": "sandbox_analyst.sandbox.templates.installs",
    "InstalledWheel": "sandbox_analyst.sandbox.templates.installs",
    "InstallResult": "sandbox_analyst.sandbox.templates.installs",
    "PackageInstaller": "sandbox_analyst.sandbox.templates.installs",
    "PackageLimits": "sandbox_analyst.sandbox.templates.installs",
    "DEFAULT_TEMPLATE": "sandbox_analyst.sandbox.templates.spec",
    "TemplateSpec": "sandbox_analyst.sandbox.templates.spec",
    "load_spec": "sandbox_analyst.sandbox.templates.spec",
    "PackageIndex": "sandbox_analyst.sandbox.templates.uv_runner",
    "UvRunner": "sandbox_analyst.sandbox.templates.uv_runner",
    "WheelCache": "sandbox_analyst.sandbox.templates.wheel_cache",
}

__all__ = [
    "DEFAULT_TEMPLATE",
    "AllowList",
    "BuildInfo",
    "BuildOutcome",
    "BuildStore",
    "IndexUnreachable",
    "InstallResult",
    "InstalledWheel",
    "InvalidRequirementError",
    "NoWheelAvailable",
    "PackageConflict",
    "PackageError",
    "PackageIndex",
    "PackageInstaller",
    "PackageLimits",
    "PackageNotAllowed",
    "PackageNotFound",
    "PackageTooLarge",
    "RemoveOutcome",
    "TemplateBuild",
    "TemplateBuildError",
    "TemplateBuilder",
    "TemplateCatalog",
    "TemplateDetails",
    "TemplateError",
    "TemplateInUseError",
    "TemplateNotBuiltError",
    "TemplateNotFoundError",
    "TemplateProtectedError",
    "TemplateRuntime",
    "TemplateSpec",
    "TemplateSpecError",
    "TemplateStatus",
    "UvRunner",
    "WheelCache",
    "load_spec",
]


__getattr__, __dir__ = _lazy_exports(globals(), _EXPORTS)
