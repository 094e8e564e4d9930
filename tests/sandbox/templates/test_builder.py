"""Building a template from the local index: an overlay of exactly the missing packages, locked
with hashes, rebuilt only on change, switched atomically while old builds stay usable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.templates import (
    NoWheelAvailable,
    PackageConflict,
    TemplateBuilder,
    TemplateBuildError,
    load_spec,
)
from sandbox_analyst.sandbox.templates.builder import BUILD_STEPS
from tests.sandbox.templates.conftest import ProbeIndex, write_template

PROBE = """\
description: probe
packages: [analyst-probe=={version}]
files:
  - {{source: notes.txt, target: docs/notes.txt}}
setup: |
  import os, pathlib
  pathlib.Path("made-by-setup.txt").write_text(os.environ["TEMPLATE_DATA"])
env: {{PROBE_NOTE: "${{TEMPLATE_DATA}}/made-by-setup.txt"}}
preload: [analyst_probe]
"""


def probe_spec(directory: Path, version: str = "1.0", **replace: str):  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "notes.txt").write_text("read me")
    text = PROBE.format(version=version)
    for old, new in replace.items():
        text = text.replace(old, new)
    return load_spec(write_template(directory, "probe.yaml", text))


def overlay_import(site: Path, code: str) -> str:
    """Run `code` in a fresh interpreter with `site` first on the import path."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_a_build_holds_exactly_the_missing_packages_locked_with_hashes(
    tmp_path: Path, builder: TemplateBuilder, probe_index: ProbeIndex
) -> None:
    steps: list[str] = []
    outcome = builder.build(
        probe_spec(tmp_path / "specs"), on_progress=lambda step, i, n: steps.append(step)
    )
    build = outcome.build
    assert outcome.rebuilt
    assert steps == list(BUILD_STEPS)
    assert [(p.name, p.version) for p in build.info.packages] == [
        ("analyst-probe", "1.0"),
        ("analyst-probe-dep", "1.0"),
    ]
    lock = build.lock_file.read_text()
    for entry in probe_index.index.files:
        if entry.filename in ("analyst_probe-1.0-py3-none-any.whl",):
            assert f"--hash=sha256:{entry.sha256}" in lock
    assert "analyst-probe-dep==1.0" in lock
    # Nothing of the base environment is copied into the overlay.
    installed = sorted(p.name for p in build.site_dir.iterdir() if p.name.endswith(".dist-info"))
    assert installed == ["analyst_probe-1.0.dist-info", "analyst_probe_dep-1.0.dist-info"]
    value = overlay_import(
        build.site_dir, "import analyst_probe, numpy; print(analyst_probe.VALUE, analyst_probe.DEP)"
    )
    assert value == "probe 1.0 dep 1.0"
    # Compiled at build time: sessions import from a read-only overlay.
    assert list((build.site_dir / "analyst_probe" / "__pycache__").glob("*.pyc"))


def test_files_setup_output_and_environment_are_part_of_the_build(
    tmp_path: Path, builder: TemplateBuilder
) -> None:
    build = builder.build(probe_spec(tmp_path / "specs")).build
    assert (build.files_dir / "docs" / "notes.txt").read_text() == "read me"
    # The setup code ran in the build's data directory, at its final path.
    assert (build.data_dir / "made-by-setup.txt").read_text() == str(build.data_dir)
    assert build.environment() == {"PROBE_NOTE": f"{build.data_dir}/made-by-setup.txt"}
    workdir = tmp_path / "session"
    workdir.mkdir()
    assert build.place_files(workdir) == ["docs/notes.txt"]
    assert (workdir / "docs" / "notes.txt").read_text() == "read me"
    info = json.loads((build.path / "build.json").read_text())
    assert info["name"] == "probe"
    assert info["uv_version"].startswith("0.13.")
    assert "setup code" in build.log_file.read_text()


def test_an_unchanged_template_is_not_rebuilt_and_asks_nothing_of_the_index(
    tmp_path: Path, builder: TemplateBuilder, probe_index: ProbeIndex
) -> None:
    spec = probe_spec(tmp_path / "specs")
    first = builder.build(spec)
    requests = len(probe_index.index.requests)
    again = builder.build(load_spec(spec.path))  # type: ignore[arg-type]
    assert not again.rebuilt
    assert again.build.path == first.build.path
    assert len(probe_index.index.requests) == requests
    assert builder.build(spec, force=True).rebuilt


def test_a_changed_spec_or_file_rebuilds_and_the_old_build_stays_while_in_use(
    tmp_path: Path, builder: TemplateBuilder
) -> None:
    specs = tmp_path / "specs"
    old = builder.build(probe_spec(specs)).build
    lease = old.lease()
    new = builder.build(probe_spec(specs, version="2.0")).build
    assert new.path != old.path
    assert builder.store.current("probe") == new
    assert overlay_import(new.site_dir, "import analyst_probe; print(analyst_probe.VALUE)") == (
        "probe 2.0"
    )
    # A session still running on the old build keeps every file of it.
    assert overlay_import(old.site_dir, "import analyst_probe; print(analyst_probe.VALUE)") == (
        "probe 1.0"
    )
    lease.release()
    (specs / "notes.txt").write_text("changed notes")  # the files' content counts too
    newest = builder.build(load_spec(specs / "probe.yaml"))
    assert newest.rebuilt
    assert (newest.build.files_dir / "docs" / "notes.txt").read_text() == "changed notes"
    assert set(newest.collected) == {old.info.build_id, new.info.build_id}
    assert not old.path.exists()
    assert [b.path for b in builder.store.builds("probe")] == [newest.build.path]


def test_a_template_may_not_replace_a_package_of_the_server(
    tmp_path: Path, builder: TemplateBuilder
) -> None:
    good = builder.build(probe_spec(tmp_path / "specs")).build
    spec = probe_spec(tmp_path / "specs", **{"analyst-probe==1.0": "tabulate==0.0.1"})
    with pytest.raises(PackageConflict, match=r"tabulate==0\.0\.1 \(the server has 0\.10"):
        builder.build(spec)
    assert builder.store.current("probe") == good
    assert [b.path for b in builder.store.builds("probe")] == [good.path]


def test_a_package_offered_only_as_an_sdist_is_refused_and_never_built(
    tmp_path: Path, builder: TemplateBuilder, probe_index: ProbeIndex
) -> None:
    spec = probe_spec(tmp_path / "specs", **{"analyst-probe==1.0": "sdist-only"})
    with pytest.raises(NoWheelAvailable, match="sdist-only") as caught:
        builder.build(spec)
    assert caught.value.code == "no_wheel_available"
    assert not probe_index.canary.exists()
    assert not probe_index.index.downloaded("sdist_only-1.0.tar.gz")
    assert builder.store.current("probe") is None


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            {'pathlib.Path("made': 'raise SystemExit("no corpus here")\n  pathlib.Path("made'},
            "no corpus here",
        ),
        (
            {"preload: [analyst_probe]": "preload: [analyst_probe, not_installed_anywhere]"},
            "not_installed_anywhere",
        ),
    ],
)
def test_a_failing_setup_or_preload_check_fails_the_build_and_keeps_the_current_one(
    tmp_path: Path, builder: TemplateBuilder, replace: dict[str, str], message: str
) -> None:
    good = builder.build(probe_spec(tmp_path / "specs")).build
    with pytest.raises(TemplateBuildError, match=message):
        builder.build(probe_spec(tmp_path / "specs", **replace))
    assert builder.store.current("probe") == good
    assert [b.path for b in builder.store.builds("probe")] == [good.path]
