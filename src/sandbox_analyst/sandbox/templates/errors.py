"""Errors of templates and approved package installs. Each class carries a stable `code` and the
`http_status` a front end answers with, so that every front end maps them in one place."""

from __future__ import annotations

from pathlib import Path

from sandbox_analyst.sandbox.errors import SandboxError


class TemplateError(SandboxError):
    """Base class for template and package failures."""

    code = "template_error"
    http_status = 500


class TemplateSpecError(TemplateError):
    """A template file is unreadable or invalid. Names the file, the line and the field."""

    code = "template_invalid"
    http_status = 422

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = self.path if line is None else f"{self.path}:{line}"
        subject = f" field '{field}':" if field else ""
        super().__init__(f"{where}:{subject} {message}")


class TemplateNotFoundError(TemplateError):
    code = "template_not_found"
    http_status = 404

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"no template named {name!r}{hint}")


class TemplateNotBuiltError(TemplateError):
    code = "template_not_built"
    http_status = 409

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"template {name!r} has not been built yet; run `analyst templates build {name}`"
        )


class TemplateBuildError(TemplateError):
    """A build step failed (uv, the setup code, an import check); the message says which."""

    code = "template_build_failed"
    http_status = 500


class TemplateInUseError(TemplateError):
    code = "template_in_use"
    http_status = 409


class TemplateProtectedError(TemplateError):
    """The built-in default template cannot be built, changed or removed."""

    code = "template_protected"
    http_status = 409


class PackageError(TemplateError):
    """Base class for failures of resolving, fetching or installing a package."""

    code = "package_error"
    http_status = 500


class InvalidRequirementError(PackageError):
    code = "invalid_requirement"
    http_status = 400


class PackageNotAllowed(PackageError):
    code = "package_not_allowed"
    http_status = 403

    def __init__(self, name: str, detail: str = "") -> None:
        self.name = name
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"package {name!r} is not on the allow-list of this assistant or the server{extra}; "
            "an admin can allow it"
        )


class PackageNotFound(PackageError):
    code = "package_not_found"
    http_status = 404


class NoWheelAvailable(PackageError):
    """Only source distributions exist (they run code at install time, so never used)."""

    code = "no_wheel_available"
    http_status = 422


class PackageTooLarge(PackageError):
    code = "package_too_large"
    http_status = 413


class PackageConflict(PackageError):
    """The request needs a different version of a package the environment already has."""

    code = "package_conflict"
    http_status = 409


class IndexUnreachable(PackageError):
    code = "package_index_unreachable"
    http_status = 502
