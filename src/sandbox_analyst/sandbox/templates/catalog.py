"""The templates a server knows: the built-in `default` (the server's own environment) and one
per file in the templates directory, each with the state of its build.

    catalog = TemplateCatalog.from_settings(settings)
    catalog.build(["nlp"], on_progress=...)        # only what changed
    runtime = catalog.runtime("nlp")               # what a pool of that template starts with
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sandbox_analyst.config import SandboxSettings, Settings
from sandbox_analyst.sandbox.templates.base_env import base_packages, base_site_dirs
from sandbox_analyst.sandbox.templates.builder import (
    BuildOutcome,
    ProgressCallback,
    TemplateBuilder,
)
from sandbox_analyst.sandbox.templates.builds import (
    BuildLease,
    BuildStore,
    TemplateBuild,
    tree_size,
)
from sandbox_analyst.sandbox.templates.errors import (
    TemplateError,
    TemplateInUseError,
    TemplateNotFoundError,
    TemplateProtectedError,
    TemplateSpecError,
)
from sandbox_analyst.sandbox.templates.spec import (
    DEFAULT_TEMPLATE,
    SPEC_SUFFIXES,
    TemplateSpec,
    default_spec,
    load_spec,
)
from sandbox_analyst.sandbox.templates.uv_runner import PackageIndex, UvRunner

TemplateState = Literal["built-in", "built", "outdated", "not built", "invalid", "removed"]


@dataclass(frozen=True)
class TemplateStatus:
    name: str
    state: TemplateState
    """built-in: the default; outdated: the spec, its files or the server's environment changed
    since the current build; invalid: the file has an error; removed: builds left, no file."""
    description: str = ""
    spec_file: Path | None = None
    build: TemplateBuild | None = None
    error: str | None = None
    size_bytes: int | None = None
    package_count: int | None = None
    egress: tuple[str, ...] | None = None
    """The allow-list its spec narrows sandbox.egress.allow to; None: the server's as it is."""


@dataclass(frozen=True)
class TemplateDetails:
    status: TemplateStatus
    spec: TemplateSpec | None
    spec_text: str | None
    lock_text: str | None


@dataclass(frozen=True)
class RemoveOutcome:
    name: str
    removed_builds: tuple[str, ...]
    kept_builds: tuple[str, ...]
    """Builds still used by running sandboxes: deleted by a later collection once released."""
    removed_file: Path | None


@dataclass
class TemplateRuntime:
    """What sandboxes of one template start with. Holds a lease on the build (so a rebuild
    or removal keeps its files) until `release()`."""

    name: str
    spec: TemplateSpec
    build: TemplateBuild | None
    lease: BuildLease | None = None

    @property
    def import_paths(self) -> tuple[str, ...]:
        return (str(self.build.site_dir),) if self.build is not None else ()

    @property
    def read_paths(self) -> tuple[str, ...]:
        return (str(self.build.data_dir),) if self.build is not None else ()

    @property
    def environment(self) -> dict[str, str]:
        return self.build.environment() if self.build is not None else {}

    def sandbox_settings(self, base: SandboxSettings) -> SandboxSettings:
        """`base` with the template's preload list and default limits."""
        limits = self.spec.limits
        update: dict[str, object] = {"preload": list(self.spec.preload)}
        if limits.timeout is not None:
            update["timeout"] = limits.timeout
        if limits.memory_mb is not None:
            update["memory_limit_mb"] = limits.memory_mb
        if limits.disk_mb is not None:
            update["disk_quota_mb"] = limits.disk_mb
        return base.model_copy(update=update)

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()
            self.lease = None


class TemplateCatalog:
    def __init__(
        self,
        templates_dir: Path,
        store: BuildStore,
        builder: TemplateBuilder,
        *,
        default_preload: Sequence[str] = (),
    ) -> None:
        self.templates_dir = templates_dir
        self.store = store
        self.builder = builder
        self.default_preload = list(default_preload)

    @classmethod
    def from_settings(cls, settings: Settings) -> TemplateCatalog:
        sandbox = settings.sandbox
        index = PackageIndex(
            sandbox.package_index, tuple(sandbox.extra_index_urls), tuple(sandbox.find_links)
        )
        store = BuildStore(settings.data_dir / "templates")
        templates_dir = sandbox.templates_dir or settings.data_dir / "templates"
        builder = TemplateBuilder(store, UvRunner(index))
        return cls(templates_dir, store, builder, default_preload=sandbox.preload)

    # --- reading ---------------------------------------------------------------------------

    def spec_files(self) -> dict[str, list[Path]]:
        """Template name -> the files that define it (more than one is an error)."""
        found: dict[str, list[Path]] = {}
        if self.templates_dir.is_dir():
            for path in sorted(self.templates_dir.iterdir()):
                if path.suffix in SPEC_SUFFIXES and path.is_file():
                    found.setdefault(path.stem, []).append(path)
        return found

    def names(self) -> list[str]:
        return [DEFAULT_TEMPLATE, *sorted(set(self.spec_files()) - {DEFAULT_TEMPLATE})]

    def spec(self, name: str) -> TemplateSpec:
        if name == DEFAULT_TEMPLATE:
            return default_spec(self.default_preload)
        paths = self.spec_files().get(name)
        if not paths:
            raise TemplateNotFoundError(name, self.names())
        if len(paths) > 1:
            listed = ", ".join(path.name for path in paths)
            raise TemplateSpecError(paths[0], f"template {name!r} is defined twice ({listed})")
        return load_spec(paths[0])

    def status(self, name: str) -> TemplateStatus:
        if name == DEFAULT_TEMPLATE:
            spec = default_spec(self.default_preload)
            return TemplateStatus(
                name,
                "built-in",
                spec.description,
                size_bytes=tree_size(base_site_dirs()),
                package_count=len(base_packages()),
            )
        build = self.store.current(name)
        facts = {
            "build": build,
            "size_bytes": build.size_bytes() if build else None,
            "package_count": len(build.info.packages) if build else None,
        }
        paths = self.spec_files().get(name)
        if not paths:
            if build is None and not self.store.builds(name):
                raise TemplateNotFoundError(name, self.names())
            return TemplateStatus(name, "removed", **facts)
        try:
            spec = self.spec(name)
        except TemplateSpecError as exc:
            return TemplateStatus(name, "invalid", "", paths[0], error=str(exc), **facts)
        if build is None:
            state: TemplateState = "not built"
        elif build.info.spec_hash == self.builder.spec_hash(spec):
            state = "built"
        else:
            state = "outdated"
        egress = tuple(spec.egress.allow) if spec.egress is not None else None
        return TemplateStatus(name, state, spec.description, spec.path, egress=egress, **facts)

    def statuses(self) -> list[TemplateStatus]:
        names = [*self.names(), *(n for n in self.store.built_names() if n not in self.names())]
        return [self.status(name) for name in names]

    def details(self, name: str) -> TemplateDetails:
        status = self.status(name)
        spec = None
        with contextlib.suppress(TemplateError):
            spec = self.spec(name)
        spec_text = status.spec_file.read_text() if status.spec_file else None
        lock_text = None
        if status.build is not None and status.build.lock_file.exists():
            lock_text = status.build.lock_file.read_text()
        return TemplateDetails(status, spec, spec_text, lock_text)

    # --- changing --------------------------------------------------------------------------

    def build(
        self,
        names: Sequence[str] | None = None,
        *,
        force: bool = False,
        on_progress: Callable[[str], ProgressCallback] | None = None,
    ) -> list[BuildOutcome]:
        """Build the named templates (default: every template file) where they changed.
        Every spec is read first, so one bad file fails before anything is built.
        `on_progress(name)` gives the progress callback for that template's build."""
        if names is None:
            wanted = [name for name in self.names() if name != DEFAULT_TEMPLATE]
        else:
            wanted = list(dict.fromkeys(names))
        if DEFAULT_TEMPLATE in wanted:
            raise TemplateProtectedError(
                "the default template is the server's own environment: it is installed with the "
                "server and never built"
            )
        specs = [self.spec(name) for name in wanted]
        outcomes = []
        for spec in specs:
            progress = on_progress(spec.name) if on_progress is not None else None
            outcomes.append(self.builder.build(spec, force=force, on_progress=progress))
        return outcomes

    def remove(
        self,
        name: str,
        *,
        force: bool = False,
        used_by: Sequence[str] = (),
        keep_file: bool = False,
    ) -> RemoveOutcome:
        """Remove a template's file and builds. Refused for `default`, and (unless `force`)
        while assistants name it (`used_by`) or running sandboxes hold one of its builds; those
        builds then stay until released."""
        if name == DEFAULT_TEMPLATE:
            raise TemplateProtectedError("the default template is built in and cannot be removed")
        paths = self.spec_files().get(name, [])
        if not paths and not self.store.builds(name):
            raise TemplateNotFoundError(name, self.names())
        if used_by and not force:
            raise TemplateInUseError(
                f"template {name!r} is used by {', '.join(used_by)}; change them first, or "
                "remove it anyway with --force"
            )
        leased = [b.info.build_id for b in self.store.builds(name) if self.store.is_leased(b)]
        if leased and not force:
            raise TemplateInUseError(
                f"template {name!r} is in use by running sandboxes; end them first, or remove it "
                "with --force (their builds are deleted once they end)"
            )
        removed_file = None
        if not keep_file:
            for path in paths:
                path.unlink()
            removed_file = paths[0] if paths else None
        with self.store.locked(name):
            self.store.unpublish(name)
            removed = self.store.collect(name, keep_current=False)
            kept = tuple(b.info.build_id for b in self.store.builds(name))
        if not kept:
            self.store.forget(name)
        return RemoveOutcome(name, tuple(removed), kept, removed_file)

    def collect_garbage(self) -> list[str]:
        """Delete builds nobody uses any more, of every template; returns their ids."""
        removed = []
        files = self.spec_files()
        for name in self.store.built_names():
            with self.store.locked(name):
                removed += self.store.collect(name, keep_current=name in files)
                empty = not self.store.builds(name)
            if empty and name not in files:
                self.store.forget(name)
        return removed

    def runtime(self, name: str) -> TemplateRuntime:
        """What a pool of template `name` starts with, its build leased."""
        if name == DEFAULT_TEMPLATE:
            return TemplateRuntime(name, self.spec(name), None)
        if name not in self.spec_files() and self.store.current(name) is None:
            raise TemplateNotFoundError(name, self.names())
        # The build's own copy of the spec: what its environment was made from, even if the
        # file changed since (sessions keep running on the last good build until a rebuild).
        lease = self.store.lease_current(name)
        return TemplateRuntime(name, lease.build.spec(), lease.build, lease)
