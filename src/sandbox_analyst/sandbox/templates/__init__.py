"""Sandbox templates: declarative environments (packages, files, setup code, preload list,
limits) built with uv as overlays on the server's own environment, and approved installs of
single packages into a session's overlay. The server builds and fetches; sandboxes never reach
the network."""

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
