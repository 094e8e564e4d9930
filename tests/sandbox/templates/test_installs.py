"""Approved installs: wheels only, from the configured index, checked against the allow-list and
the size limits, cached by content across sessions, into a per-session overlay."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.templates import (
    AllowList,
    IndexUnreachable,
    InvalidRequirementError,
    NoWheelAvailable,
    PackageConflict,
    PackageIndex,
    PackageInstaller,
    PackageLimits,
    PackageNotAllowed,
    PackageNotFound,
    PackageTooLarge,
    UvRunner,
    WheelCache,
)
from tests.sandbox.templates.conftest import MIB, ProbeIndex

ALLOW = AllowList(
    global_entries=("big-blob", "zip-bomb"), assistant_entries=("analyst-probe", "sdist-only")
)


@pytest.fixture
def installer(tmp_path: Path, uv_runner: UvRunner) -> Iterator[PackageInstaller]:
    limits = PackageLimits(max_package_bytes=1 * MIB, max_total_bytes=3 * MIB)
    installer = PackageInstaller(uv_runner, WheelCache(tmp_path / "wheels"), limits)
    yield installer
    installer.close()


def imports(overlay: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(overlay), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_an_approved_package_comes_with_its_dependencies(
    tmp_path: Path, installer: PackageInstaller, probe_index: ProbeIndex
) -> None:
    overlay = tmp_path / "session-1"
    result = installer.install("Analyst_Probe", allow=ALLOW, overlay=overlay)
    assert (result.name, result.version, result.already_installed) == (
        "analyst-probe",
        "2.0",
        False,
    )
    assert [(w.name, w.version, w.downloaded) for w in result.wheels] == [
        ("analyst-probe", "2.0", True),
        ("analyst-probe-dep", "1.0", True),
    ]
    by_file = {entry.filename: entry.sha256 for entry in probe_index.index.files}
    assert all(by_file[w.filename] == w.sha256 for w in result.wheels)
    assert imports(
        overlay, "import analyst_probe; print(analyst_probe.VALUE, analyst_probe.DEP)"
    ) == ("probe 2.0 dep 1.0")
    again = installer.install("analyst-probe", allow=ALLOW, overlay=overlay)
    assert again.already_installed
    assert again.wheels == ()


def test_wheels_are_cached_by_content_across_sessions(
    tmp_path: Path, installer: PackageInstaller, probe_index: ProbeIndex
) -> None:
    installer.install("analyst-probe", "1.0", allow=ALLOW, overlay=tmp_path / "session-1")
    downloads = [r for r in probe_index.index.requests if r.endswith(".whl")]
    second = installer.install("analyst-probe", "1.0", allow=ALLOW, overlay=tmp_path / "session-2")
    assert [w.downloaded for w in second.wheels] == [False, False]
    assert [r for r in probe_index.index.requests if r.endswith(".whl")] == downloads
    cached = installer.cache.path_for(second.wheels[0].sha256, second.wheels[0].filename)
    assert cached.is_file()
    assert imports(tmp_path / "session-2", "import analyst_probe; print(analyst_probe.VALUE)") == (
        "probe 1.0"
    )


def test_what_the_template_already_holds_is_not_installed_again(
    tmp_path: Path, installer: PackageInstaller
) -> None:
    template_site = tmp_path / "template-site"
    installer.install("analyst-probe", "1.0", allow=ALLOW, overlay=template_site)
    result = installer.install(
        "analyst-probe", allow=ALLOW, overlay=tmp_path / "session", layers=(template_site,)
    )
    assert result.already_installed
    assert result.version == "1.0"
    with pytest.raises(PackageConflict, match="already installed"):
        installer.install(
            "analyst-probe",
            "2.0",
            allow=ALLOW,
            overlay=tmp_path / "session",
            layers=(template_site,),
        )


def test_a_package_of_the_server_environment_needs_no_install(
    tmp_path: Path, installer: PackageInstaller
) -> None:
    result = installer.install("numpy", allow=AllowList(), overlay=tmp_path / "session")
    assert result.already_installed
    with pytest.raises(PackageConflict):
        installer.install("tabulate", "0.0.1", allow=AllowList(("*",)), overlay=tmp_path / "s")


@pytest.mark.parametrize(
    ("allow", "version"),
    [
        (AllowList(), None),
        (AllowList(global_entries=("analyst-probe-dep",)), None),
        (AllowList(assistant_entries=("analyst-probe<2",)), "2.0"),
        (AllowList(assistant_entries=("analyst-probe<2",)), None),  # latest is 2.0
        (AllowList(assistant_entries=("not a requirement at all",)), None),
    ],
)
def test_a_package_not_on_the_allow_lists_is_refused_and_nothing_is_fetched(
    tmp_path: Path,
    installer: PackageInstaller,
    probe_index: ProbeIndex,
    allow: AllowList,
    version: str | None,
) -> None:
    before = [r for r in probe_index.index.requests if r.endswith(".whl")]
    with pytest.raises(PackageNotAllowed) as caught:
        installer.install("analyst-probe", version, allow=allow, overlay=tmp_path / "session")
    assert (caught.value.code, caught.value.http_status) == ("package_not_allowed", 403)
    assert [r for r in probe_index.index.requests if r.endswith(".whl")] == before
    assert not list((tmp_path / "session").glob("analyst_probe*"))


def test_a_version_range_or_a_wildcard_allows_matching_requests(
    tmp_path: Path, installer: PackageInstaller
) -> None:
    ranged = AllowList(assistant_entries=("analyst-probe<2",))
    assert (
        installer.install("analyst-probe", "1.0", allow=ranged, overlay=tmp_path / "a").version
        == "1.0"
    )
    assert (
        installer.install("analyst-probe", allow=AllowList(("*",)), overlay=tmp_path / "b").version
        == "2.0"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [("big-blob", "larger than the limit of 1.0 MiB"), ("zip-bomb", "unpacks to 8.0 MiB")],
)
def test_a_package_over_the_size_limit_is_refused_and_not_installed(
    tmp_path: Path, installer: PackageInstaller, name: str, message: str
) -> None:
    overlay = tmp_path / "session"
    with pytest.raises(PackageTooLarge, match=message) as caught:
        installer.install(name, allow=ALLOW, overlay=overlay)
    assert (caught.value.code, caught.value.http_status) == ("package_too_large", 413)
    assert not list(overlay.glob(name.replace("-", "_") + "*"))
    assert not list(installer.cache.root.glob(f"sha256/*/*/{name.replace('-', '_')}*"))


def test_the_total_size_of_a_session_overlay_is_limited(
    tmp_path: Path, uv_runner: UvRunner
) -> None:
    limits = PackageLimits(max_package_bytes=10 * MIB, max_total_bytes=4 * MIB)
    installer = PackageInstaller(uv_runner, WheelCache(tmp_path / "wheels"), limits)
    overlay = tmp_path / "session"
    try:
        installer.install("big-blob", allow=ALLOW, overlay=overlay)  # 2 MiB
        with pytest.raises(PackageTooLarge, match="this session's packages past the limit"):
            installer.install("zip-bomb", allow=ALLOW, overlay=overlay)  # 8 MiB unpacked
    finally:
        installer.close()


def test_a_package_offered_only_as_an_sdist_is_refused_and_never_run(
    tmp_path: Path, installer: PackageInstaller, probe_index: ProbeIndex
) -> None:
    with pytest.raises(NoWheelAvailable, match="sdist-only") as caught:
        installer.install("sdist-only", allow=ALLOW, overlay=tmp_path / "session")
    assert caught.value.http_status == 422
    assert not probe_index.index.downloaded("sdist_only-1.0.tar.gz")
    assert not probe_index.canary.exists()


def test_unknown_packages_and_versions_are_reported_as_not_found(
    tmp_path: Path, installer: PackageInstaller
) -> None:
    anything = AllowList(("*",))
    with pytest.raises(PackageNotFound):
        installer.install("no-such-package", allow=anything, overlay=tmp_path / "s")
    with pytest.raises(PackageNotFound):
        installer.install("analyst-probe", "9.9", allow=anything, overlay=tmp_path / "s")


@pytest.mark.parametrize(
    ("name", "version"), [("../../etc", None), ("probe; rm -rf /", None), ("ok", "not-a-version")]
)
def test_malformed_requests_are_refused_before_anything_runs(
    tmp_path: Path, installer: PackageInstaller, name: str, version: str | None
) -> None:
    with pytest.raises(InvalidRequirementError) as caught:
        installer.install(name, version, allow=AllowList(("*",)), overlay=tmp_path / "s")
    assert caught.value.http_status == 400


def test_an_unreachable_index_is_a_clear_error(tmp_path: Path, uv_cache: Path) -> None:
    runner = UvRunner(PackageIndex("http://127.0.0.1:9/simple"), cache_dir=uv_cache)
    installer = PackageInstaller(runner, WheelCache(tmp_path / "wheels"))
    try:
        with pytest.raises(IndexUnreachable, match=r"127\.0\.0\.1:9") as caught:
            installer.install("analyst-probe", allow=AllowList(("*",)), overlay=tmp_path / "s")
    finally:
        installer.close()
    assert (caught.value.code, caught.value.http_status) == ("package_index_unreachable", 502)
